"""The Streamlit app: thin pages over assistant.workspace and assistant.writing (run with `litreview ui`)."""
