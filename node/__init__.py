"""The Roshni node agent that runs on a lamp-post Raspberry Pi. Never imports `hub`."""
