"""Deletes through the unmodified PyPI `keen` client (0.7.0).

One step per run, chosen by argv[1], so the calling test can wait between
steps (on the split stack a write is stored after it is acknowledged):

  write    TALLY_EVENTS (JSON list) into TALLY_COLLECTION with add_events
  delete   delete_events(TALLY_COLLECTION, **TALLY_DELETE) (JSON object of
           filters / timeframe / timezone, passed as the client takes them)

Keys and the server come from TALLY_URL, TALLY_PROJECT, TALLY_WRITE_KEY,
TALLY_READ_KEY and TALLY_MASTER_KEY. Prints one JSON value.
"""
import json
import os
import sys

from keen.client import KeenClient

client = KeenClient(
    project_id=os.environ["TALLY_PROJECT"],
    write_key=os.environ["TALLY_WRITE_KEY"],
    read_key=os.environ["TALLY_READ_KEY"],
    master_key=os.environ["TALLY_MASTER_KEY"],
    base_url=os.environ["TALLY_URL"],
)
collection = os.environ.get("TALLY_COLLECTION", "py_deletes")
step = sys.argv[1]

if step == "write":
    result = client.add_events({collection: json.loads(os.environ["TALLY_EVENTS"])})
elif step == "delete":
    result = client.delete_events(collection, **json.loads(os.environ["TALLY_DELETE"]))
else:
    raise SystemExit("unknown step " + step)

json.dump(result, sys.stdout)
