"""What the migration caused: per-service weekly panels, the one list of metrics judged, a staggered
difference-in-differences and worlds with a known truth to check it. Pure functions of DataFrames.

Public API (the digest, the criteria and the web app use only these):

- ``panel``: ``PanelMetric`` (key, label, unit, higher_is_better, build, relative, scale), ``PanelInputs``
  (frames by name, services, tz, start/end Mondays, environments), ``validate(panel)``,
  ``weeks.week_start_dates(series, tz)``, ``first_treated_week(moved_at, tz)``, ``treatment_weeks(moves, tz)``,
  ``mask_move_weeks(panel, moves, tz)``, ``grid(services, start, end)``.
- ``registry``: ``METRICS`` (the tuple to extend), ``metric(key)``, ``keys()``.
- ``did``: ``estimate(panel, first_treated, Options()) -> Effect`` (verdict, relative, low, high, att,
  counterfactual, before/after, mde_relative, pre_trend, event_study, treated, controls, method, reason),
  ``att_gt(panel, first_treated) -> DataFrame`` (cohort, week, att, treated, controls),
  ``before_after(panel, first_treated) -> Effect``.
- ``words``: ``interval(low, high)`` and ``caveat(effect)`` (the sentence itself: ``service.digest.claims``).
- ``world``: ``World(...)``, ``generate(world, seed) -> (panel, first_treated)``, ``NULL_WORLDS``,
  ``EFFECT_WORLDS``, ``ARTICLE_WORLDS`` (the issues' worked examples: several metrics of the same services).
- ``resource_panels``: the cost, utilisation, cold-start and work-item builders of the registry (adapters
  over ``service.figures.cost.panel`` and ``service.figures.work.panel``) and the names of the frames they read.
- ``world_frames``: ``raw_frames(worlds, seed)``, a world as the raw frames the digest loads.
"""
