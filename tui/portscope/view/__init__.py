"""The dashboard's view model: what each row, column and card says, and the per-poll work
behind it (the poll on screen, port counts, health off the event loop, the first collect,
the dashboard's start and end).

Headless: nothing here imports textual or rich, so all of it is tested without a terminal;
the Textual layer (`portscope.ui`) only lays it out.
"""
