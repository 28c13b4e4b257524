"""The rules of the appeals module, one sub-module per sub-domain. Callers import a sub-module and call its
public functions (`from govgrid.appeals.services import workflow; workflow.sign(session, actor=...,
ticket=...)`); every function takes the session first and keyword-only arguments after it, flushes and never
commits, and raises `govgrid.core.errors` types. A name starting with `_` is private to its file.

intake       tickets from every channel: check, classify, locate, propose the unit, store; hotline calls;
             a point sent later (relocate)
idempotency  Idempotency-Key glue for the intake routes (a retry answers the first ticket)
classifier   category from the text: keyword rules, the trained model (stored as data), training
routing      where a concern is (point, address, text, channel) and which unit answers it
workflow     the lifecycle (enums.TRANSITIONS): dispatch, sign, contact, answer, return, merge
ratings      the reporter's rating and callback surveys, which close or reopen (and escalate) a ticket
escalation   clocks (deadlines), escalation to the superior and the supervisor queue, supervision actions
access       who may see and do what: visibility, dispatcher, handler, supervisor, hotline, survey, reporter
queries      work lists, lookups by number, tracking code or channel message, duplicates, names, open work
views        the staff read models (work-list rows, ticket detail)
public       what the public sees: tracking and rating by tracking code, public ticket view, places, Open311
channels     WeChat channels (sealed secrets)
wechat       the WeChat Official Account callback: verification, decryption, one ticket per message
city         the city-map link: events forwarded through core.ports, closures noted on the ticket
history      a ticket's history rows (and one log line per state change)
counters     the pre-aggregated daily and monthly counters
stats        三率, rankings, hot spots and trends from the counters
reports      the statistics page, monthly report and map layer bundles
config       deployment settings kept as data (三率 formulas, deadlines, escalation, default jurisdiction)
"""
