"""Drives Keen's access-key calls of the unmodified PyPI `keen` client (0.7.0).

Reads TALLY_URL, TALLY_PROJECT and the project's three keys from the
environment. Creates an access key with forced filters and an autofill,
writes and queries with it, changes it with every update call the client
has, revokes, unrevokes and deletes it, and prints what it saw as one JSON
object for the calling test to check.
"""
import json
import os
import time

from keen.client import KeenClient
from keen.exceptions import KeenApiError

URL = os.environ["TALLY_URL"]
PROJECT = os.environ["TALLY_PROJECT"]
WAIT = float(os.environ.get("TALLY_KEY_CACHE_WAIT", "0"))

master = KeenClient(
    project_id=PROJECT,
    write_key=os.environ["TALLY_WRITE_KEY"],
    read_key=os.environ["TALLY_READ_KEY"],
    master_key=os.environ["TALLY_MASTER_KEY"],
    base_url=URL,
)

TF = {"start": "2024-06-01T00:00:00.000Z", "end": "2024-06-02T00:00:00.000Z"}
RED = [{"property_name": "team", "operator": "eq", "property_value": "red"}]


def error_of(call):
    """The Keen error a call raised ({message, error_code}), or None when it worked."""
    try:
        call()
        return None
    except KeenApiError as error:
        return error.api_error


out = {}

created = master.create_access_key(
    "red team",
    permitted=["writes", "queries", "saved_queries"],
    options={
        "queries": {"filters": RED},
        "writes": {"autofill": {"team": "red", "source": {"via": "access key", "app": "py"}}},
    },
)
key = created["key"]
out["created"] = created

scoped = KeenClient(project_id=PROJECT, write_key=key, read_key=key, base_url=URL)
# Two events take the autofill's team; one names its own team, which wins; one
# fills in part of the nested object.
scoped.add_event("ak_orders", {"n": 1, "keen": {"timestamp": "2024-06-01T01:00:00.000Z"}})
scoped.add_events({"ak_orders": [
    {"n": 2, "keen": {"timestamp": "2024-06-01T02:00:00.000Z"}},
    {"n": 3, "team": "blue", "keen": {"timestamp": "2024-06-01T03:00:00.000Z"}},
    {"n": 4, "source": {"app": "ios"}, "keen": {"timestamp": "2024-06-01T04:00:00.000Z"}},
]})
# Written with the project's write key: no autofill, a team of its own.
master.add_event("ak_orders", {"n": 5, "team": "red", "keen": {"timestamp": "2024-06-01T05:00:00.000Z"}})
master.add_event("ak_orders", {"n": 6, "team": "green", "keen": {"timestamp": "2024-06-01T06:00:00.000Z"}})

stored = master.extraction("ak_orders", timeframe=TF)
out["stored"] = sorted(
    [{k: e.get(k) for k in ("n", "team", "source")} for e in stored], key=lambda e: e["n"]
)
out["scoped_count"] = scoped.count("ak_orders", timeframe=TF)
out["scoped_count_widened"] = scoped.count(
    "ak_orders", timeframe=TF,
    filters=[{"property_name": "team", "operator": "in", "property_value": ["red", "blue", "green"]}])
out["scoped_extraction"] = sorted(e["n"] for e in scoped.extraction("ak_orders", timeframe=TF))
out["scoped_sum"] = scoped.sum("ak_orders", target_property="n", timeframe=TF)
out["master_count"] = master.count("ak_orders", timeframe=TF)
out["scoped_schema"] = error_of(lambda: scoped.get_all_collections())
# A saved query run with the key sees only what its filters allow.
master.saved_queries.create("ak-count", {
    "query": {"analysis_type": "count", "event_collection": "ak_orders", "timeframe": TF},
    "refresh_rate": 0,
    "metadata": {"display_name": "orders"},
})
out["saved_master"] = master.saved_queries.results("ak-count")["result"]
out["saved_scoped"] = scoped.saved_queries.results("ak-count")["result"]

# Master-only calls refuse the read and write keys.
as_read = KeenClient(project_id=PROJECT, read_key=os.environ["TALLY_READ_KEY"],
                     master_key=os.environ["TALLY_READ_KEY"], base_url=URL)
as_write = KeenClient(project_id=PROJECT, write_key=os.environ["TALLY_WRITE_KEY"],
                      master_key=os.environ["TALLY_WRITE_KEY"], base_url=URL)
out["read_key_lists_keys"] = error_of(lambda: as_read.list_access_keys())
out["write_key_creates_key"] = error_of(lambda: as_write.create_access_key("x", permitted=["writes"]))
out["access_key_lists_keys"] = error_of(
    lambda: KeenClient(project_id=PROJECT, master_key=key, base_url=URL).list_access_keys())

# Every update call the client has.
out["got"] = master.get_access_key(key)
out["listed"] = master.list_access_keys()
out["renamed"] = master.update_access_key_name(key, "red team (renamed)")
out["added"] = master.add_access_key_permissions(key, ["schema"])
out["scoped_schema_after_add"] = [c["name"] for c in scoped.get_all_collections()]
out["removed"] = master.remove_access_key_permissions(key, ["writes"])
out["write_after_remove"] = error_of(lambda: scoped.add_event("ak_orders", {"n": 99}))
out["options_replaced"] = master.update_access_key_options(key, {"queries": {"filters": [
    {"property_name": "n", "operator": "gte", "property_value": 5}]}})
out["scoped_count_after_options"] = scoped.count("ak_orders", timeframe=TF)
out["permissions_replaced"] = master.update_access_key_permissions(key, ["queries", "writes"])
out["full"] = master.update_access_key_full(key, "red team", True, ["queries"], {"queries": {"filters": RED}})

# Revoke stops the key; unrevoke brings it back; delete removes it.
out["revoked"] = master.revoke_access_key(key)
time.sleep(WAIT)
out["query_after_revoke"] = error_of(lambda: scoped.count("ak_orders", timeframe=TF))
out["unrevoked"] = master.unrevoke_access_key(key)
time.sleep(WAIT)
out["count_after_unrevoke"] = scoped.count("ak_orders", timeframe=TF)
out["deleted"] = master.delete_access_key(key)
time.sleep(WAIT)
out["query_after_delete"] = error_of(lambda: scoped.count("ak_orders", timeframe=TF))
out["get_after_delete"] = error_of(lambda: master.get_access_key(key))
out["listed_after_delete"] = master.list_access_keys()

print(json.dumps(out))
