"""mvm.concurrency: the warm-process pool of a function entrypoint."""


def warm_process(pool_size=1, max_calls_per_worker=1000, max_rss_mb=256, in_process="serial",
                 max_queue_depth=None):
    return {"kind": "warm_process", "pool_size": pool_size,
            "max_calls_per_worker": max_calls_per_worker, "max_rss_mb": max_rss_mb,
            "in_process": in_process, "max_queue_depth": max_queue_depth}
