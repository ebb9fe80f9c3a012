#!/usr/bin/env python3
"""Python's own xmlrpc.client, as Odoo integrations use it, for the Odoo RPC transport tests.

Reads one JSON job on stdin and prints one JSON answer on stdout:
- {"mode": "calls", "url": ..., "calls": [{"method": "execute_kw", "args": [...]}]}
    calls each method through xmlrpc.client.ServerProxy(url, allow_none=True) and reports, per call,
    {"ok": TYPED} or {"fault": {"faultCode": ..., "faultString": ...}} or {"protocolError": {...}}
    or {"error": "ExceptionName: text"}.
- {"mode": "dumps", "calls": [...]}: the request bodies Python would send for these calls.
- {"mode": "loads", "responses": ["<methodResponse>..."]}: how Python reads each response body.

Arguments are JSON with tags for what JSON cannot say: {"__float__": 1}, {"__none__": true},
{"__datetime__": "2024-01-02T03:04:05"}, {"__binary__": "<base64>"}, {"__int__": "123456789012345678901"}.
Results come back typed: ["int", 5], ["bool", true], ["float", 1.5], ["str", "x"], ["None", null],
["list", [...]], ["dict", {...}], ["binary", "<base64>"], ["datetime", "iso"].
"""

import base64
import datetime
import json
import math
import sys
import xmlrpc.client


def to_py(value):
    if isinstance(value, dict):
        if "__float__" in value:
            return float(value["__float__"])
        if "__none__" in value:
            return None
        if "__int__" in value:
            return int(value["__int__"])
        if "__datetime__" in value:
            return datetime.datetime.fromisoformat(value["__datetime__"])
        if "__binary__" in value:
            return xmlrpc.client.Binary(base64.b64decode(value["__binary__"]))
        return {key: to_py(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_py(item) for item in value]
    return value


def typed(value):
    if value is None:
        return ["None", None]
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        # JSON readers in JavaScript round beyond 2^53: send those digits as text.
        return ["int", value if abs(value) <= 2**53 - 1 else str(value)]
    if isinstance(value, float):
        return ["float", value if math.isfinite(value) else repr(value)]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, (list, tuple)):
        return ["list", [typed(item) for item in value]]
    if isinstance(value, dict):
        return ["dict", {str(key): typed(item) for key, item in value.items()}]
    if isinstance(value, xmlrpc.client.Binary):
        return ["binary", base64.b64encode(value.data).decode("ascii")]
    if isinstance(value, (datetime.datetime, xmlrpc.client.DateTime)):
        return ["datetime", str(value)]
    return ["other", type(value).__name__, repr(value)]


def outcome(run):
    try:
        return {"ok": typed(run())}
    except xmlrpc.client.Fault as fault:
        return {"fault": {"faultCode": fault.faultCode, "faultString": fault.faultString}}
    except xmlrpc.client.ProtocolError as err:
        return {"protocolError": {"errcode": err.errcode, "errmsg": err.errmsg}}
    except Exception as err:  # noqa: BLE001 -- the test reports whatever went wrong
        return {"error": f"{type(err).__name__}: {err}"}


def main():
    job = json.load(sys.stdin)
    mode = job["mode"]
    if mode == "calls":
        proxy = xmlrpc.client.ServerProxy(job["url"], allow_none=True)
        answers = []
        for call in job["calls"]:
            args = to_py(call.get("args", []))
            answers.append(outcome(lambda: getattr(proxy, call["method"])(*args)))
    elif mode == "dumps":
        answers = [xmlrpc.client.dumps(tuple(to_py(call.get("args", []))), call["method"], allow_none=True) for call in job["calls"]]
    elif mode == "loads":
        answers = [outcome(lambda: xmlrpc.client.loads(body)[0][0]) for body in job["responses"]]
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
