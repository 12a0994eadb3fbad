"""`portscope record`: a subscriber of the shared poller, plus the kernel's socket-end
broadcasts, writing the history (`portscope.history`) from one thread."""
