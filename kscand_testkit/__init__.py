"""kscand-perf's test machinery: the kscand simulator, the perf.data writer, event layouts.

It lives beside the product (kscand_perf) and is never installed with it.
"""
