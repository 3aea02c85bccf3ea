"""Drives the unmodified PyPI `keen` client (0.7.0) against a Tally server.

Reads TALLY_URL, TALLY_PROJECT, TALLY_WRITE_KEY, TALLY_READ_KEY from the
environment, writes a fixed set of events, runs queries the way the client
sends them (GET with a query string), and prints every answer as one JSON
object for the calling test to compare.
"""
import json
import os
import sys
import time

from keen.client import KeenClient

client = KeenClient(
    project_id=os.environ["TALLY_PROJECT"],
    write_key=os.environ["TALLY_WRITE_KEY"],
    read_key=os.environ["TALLY_READ_KEY"],
    master_key=os.environ.get("TALLY_MASTER_KEY"),
    base_url=os.environ["TALLY_URL"],
)

events = json.loads(os.environ["TALLY_EVENTS"])
client.add_event("py_orders", events[0])
client.add_events({"py_orders": events[1:]})

# The write is committed when the call returns; no sleep is needed, but the
# key cache and the clock are real, so allow a moment for relative timeframes.
time.sleep(0.1)

tf = {"start": "2024-06-01T00:00:00.000Z", "end": "2024-06-03T00:00:00.000Z"}
out = {
    "count": client.count("py_orders", timeframe=tf),
    "count_filtered": client.count(
        "py_orders", timeframe=tf,
        filters=[{"property_name": "kind", "operator": "eq", "property_value": "a"}]),
    "sum": client.sum("py_orders", target_property="amount", timeframe=tf),
    "average": client.average("py_orders", target_property="amount", timeframe=tf),
    "minimum": client.minimum("py_orders", target_property="amount", timeframe=tf),
    "maximum": client.maximum("py_orders", target_property="amount", timeframe=tf),
    "median": client.median("py_orders", target_property="amount", timeframe=tf),
    "percentile": client.percentile("py_orders", target_property="amount", percentile=50, timeframe=tf),
    "count_unique": client.count_unique("py_orders", target_property="kind", timeframe=tf),
    "select_unique": sorted(client.select_unique("py_orders", target_property="kind", timeframe=tf)),
    "group_by": client.count("py_orders", timeframe=tf, group_by="kind"),
    "interval": client.count("py_orders", timeframe=tf, interval="daily"),
    "relative": client.count("py_orders", timeframe="this_3650_days"),
    "multi": client.multi_analysis(
        "py_orders", analyses={"total": {"analysis_type": "sum", "target_property": "amount"},
                               "n": {"analysis_type": "count"}}, timeframe=tf),
    "funnel": client.funnel([
        {"event_collection": "py_orders", "actor_property": "user", "timeframe": tf,
         "filters": [{"property_name": "kind", "operator": "eq", "property_value": "a"}]},
        {"event_collection": "py_orders", "actor_property": "user", "timeframe": tf,
         "filters": [{"property_name": "kind", "operator": "eq", "property_value": "b"}]},
    ]),
    "extraction": client.extraction("py_orders", timeframe=tf, property_names=["amount"]),
    "collection": client.get_collection("py_orders"),
}
json.dump(out, sys.stdout)
