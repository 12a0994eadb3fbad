"""The Prometheus exporter: one poll's facts as metric families, for `portscope metrics`
(the text format, once) and `portscope serve` (a subscriber of the shared Poller behind
`/metrics`). Built on the official `prometheus_client`, which only this package imports,
so the other commands never pay for loading it.
"""
