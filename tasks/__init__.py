"""The steps of a compliance run: collect, store, validate, notify, report. One module per step."""
