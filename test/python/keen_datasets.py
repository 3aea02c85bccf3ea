"""One call of the unmodified PyPI `keen` client's cached_datasets interface (0.7.0).

argv: the action (create, get, all, results, delete) and its JSON arguments.
Reads TALLY_URL, TALLY_PROJECT, TALLY_READ_KEY and TALLY_MASTER_KEY; prints
the call's answer, or {"error": <Keen error>}, as one JSON object.
"""
import json
import os
import sys

from keen.client import KeenClient
from keen.exceptions import KeenApiError

client = KeenClient(
    project_id=os.environ["TALLY_PROJECT"],
    read_key=os.environ["TALLY_READ_KEY"],
    master_key=os.environ["TALLY_MASTER_KEY"],
    base_url=os.environ["TALLY_URL"],
)
action = sys.argv[1]
args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
datasets = client.cached_datasets
try:
    if action == "create":
        out = datasets.create(args["name"], args["query"], args["index_by"], args["display_name"])
    elif action == "get":
        out = datasets.get(args["name"])
    elif action == "all":
        out = datasets.all()
    elif action == "results":
        out = datasets.results(args["name"], args["index_by"], args["timeframe"])
    elif action == "delete":
        out = datasets.delete(args["name"])
    else:
        raise SystemExit("unknown action " + action)
except KeenApiError as error:
    out = {"error": error.api_error}
print(json.dumps(out))
