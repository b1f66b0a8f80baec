"""`vaegan-vc serve`: a small local web page over the Python API (Starlette + uvicorn)."""
