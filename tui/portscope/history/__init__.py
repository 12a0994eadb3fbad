"""The local history: what `portscope record` keeps in SQLite, and the questions it
answers (`query.HistoryReader`); baselines of the listener set. Headless: no textual,
and no collecting either: the recorder (`portscope.recorder`) hands it its rows."""
