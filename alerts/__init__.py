"""Warnings and their closed loop: the store (raise or update by condition), colours and levels.

Issue 4 adds the store (:mod:`alerts.store`); the closed loop of issue 6 (acknowledge, dispatch,
reply, evaluate, escalate, audit) builds on the same records.
"""
