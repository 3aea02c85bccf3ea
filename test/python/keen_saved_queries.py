"""Saved and cached queries through the unmodified PyPI `keen` client (0.7.0).

One step per run, chosen by argv[1], so the calling test can act between
steps (write events, force a refresh):

  plain          create a saved query, list, get, results() beside the same
                 ad-hoc count, update(), update_full(), delete, get after
  cached-create  create the cached query "py-cached" (refresh_rate 14400)
  cached-result  results("py-cached") and the same ad-hoc count

Keys and the server come from TALLY_URL, TALLY_PROJECT, TALLY_READ_KEY and
TALLY_MASTER_KEY; events are in the collection TALLY_COLLECTION. Prints one
JSON object.
"""
import json
import os
import sys

from keen.exceptions import KeenApiError
from keen.client import KeenClient

client = KeenClient(
    project_id=os.environ["TALLY_PROJECT"],
    read_key=os.environ["TALLY_READ_KEY"],
    master_key=os.environ["TALLY_MASTER_KEY"],
    base_url=os.environ["TALLY_URL"],
)
collection = os.environ["TALLY_COLLECTION"]
timeframe = {"start": "2024-06-01T00:00:00.000Z", "end": "2024-06-03T00:00:00.000Z"}
filters = [{"property_name": "kind", "operator": "eq", "property_value": "a"}]
step = sys.argv[1]
out = {}

if step == "plain":
    definition = {
        "query": {
            "analysis_type": "count",
            "event_collection": collection,
            "timeframe": timeframe,
            "filters": filters,
        },
        "refresh_rate": 0,
        "metadata": {"display_name": "Kind A", "visualization": {"chart_type": "metric"}},
    }
    out["created"] = client.saved_queries.create("py-plain", definition)
    out["all"] = client.saved_queries.all()
    out["got"] = client.saved_queries.get("py-plain")
    out["results"] = client.saved_queries.results("py-plain")
    out["adhoc"] = client.count(collection, timeframe=timeframe, filters=filters)
    # update(): GET, then PUT back query_name, refresh_rate, query, metadata with the change.
    out["updated"] = client.saved_queries.update(
        "py-plain", {"query": {"filters": []}, "metadata": {"display_name": "All kinds"}}
    )
    out["updated_results"] = client.saved_queries.results("py-plain")
    out["adhoc_all"] = client.count(collection, timeframe=timeframe)
    out["update_full"] = client.saved_queries.update_full(
        "py-plain",
        {
            "query": {
                "analysis_type": "sum",
                "event_collection": collection,
                "target_property": "amount",
                "timeframe": timeframe,
            },
            "refresh_rate": 0,
        },
    )
    out["full_results"] = client.saved_queries.results("py-plain")
    out["adhoc_sum"] = client.sum(collection, "amount", timeframe=timeframe)
    out["deleted"] = client.saved_queries.delete("py-plain")
    try:
        client.saved_queries.get("py-plain")
        out["after_delete"] = "found"
    except KeenApiError as error:
        out["after_delete"] = str(error)
    try:
        client.saved_queries.create("py-bad", {"query": {"analysis_type": "count"}})
        out["bad"] = "accepted"
    except KeenApiError as error:
        out["bad"] = str(error)
elif step == "cached-create":
    out["created"] = client.saved_queries.create(
        "py-cached",
        {
            "query": {"analysis_type": "count", "event_collection": collection, "timeframe": timeframe},
            "refresh_rate": 14400,
            "metadata": {"display_name": "Cached count"},
        },
    )
elif step == "cached-result":
    out["results"] = client.saved_queries.results("py-cached")
    out["adhoc"] = client.count(collection, timeframe=timeframe)
else:
    raise SystemExit("unknown step " + step)

print(json.dumps(out))
