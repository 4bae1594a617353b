"""Onboarding: the road to SP-API access (``road``, ``init``, ``doctor``, AWS set-up, secret rotation).

The logic lives here; the commands in ``sellerkit/cli`` are thin shells over it.
"""
