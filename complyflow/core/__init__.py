"""The bottom layer: the data model and the config schemas. No Prefect, no boto3, no pandas at import."""
