"""The responder desk: the response team's own web app, between the drop and the air gap.

It runs on its own loopback port, published as its own onion with client
authorization, and never holds a responder's secret key nor sees a reply's
plaintext: responders download their bundle here, read and answer it
offline, and upload the encrypted replies back.
"""
