"""Demo data for tests, screenshots and benchmarks, outside the installed package.

`server`: a small fixed server; `pressure`: the same server in trouble; `scenes`: scripted
walks through the dashboard on them. Nothing here touches the OS.
"""
