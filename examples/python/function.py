"""The example Python function: returns the event upper-cased; raises when it has "fail"."""
import json


def handler(event, context):
    if isinstance(event, dict) and "fail" in event:
        raise ValueError("the event asked to fail")
    return json.loads(json.dumps(event).upper())
