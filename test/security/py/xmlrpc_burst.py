#!/usr/bin/env python3
"""Fires XML-RPC calls all at once through Python's own xmlrpc.client, one thread and one ServerProxy
per call (a ServerProxy is not thread-safe), as an attacker with a thread pool would.

Reads {"url": ..., "calls": [{"method": "authenticate", "args": [...]}]} on stdin and prints, in the
calls' order, {"ok": value} or {"fault": {"faultCode": ..., "faultString": ...}} or {"error": text}.
Values are plain JSON (the sign-in answers are ints, booleans, lists and dicts).
"""

import json
import sys
import threading
import xmlrpc.client


def main():
    job = json.load(sys.stdin)
    calls = job["calls"]
    answers = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index, call):
        proxy = xmlrpc.client.ServerProxy(job["url"], allow_none=True)
        start.wait()
        try:
            answers[index] = {"ok": getattr(proxy, call["method"])(*call["args"])}
        except xmlrpc.client.Fault as fault:
            answers[index] = {"fault": {"faultCode": fault.faultCode, "faultString": fault.faultString}}
        except Exception as err:  # noqa: BLE001 -- the test reports whatever went wrong
            answers[index] = {"error": f"{type(err).__name__}: {err}"}

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
