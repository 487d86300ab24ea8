"""The public-AI impact assessment evidence report (공공 AI 영향평가 근거 자료): ``nuri assess``.

What the platform already knows about itself — its models and their provenance, its documents,
its measured accuracy and safety, what its guardrails did, who may use it, whether its audit trail
verifies, what changed — gathered read-only from the stores of this server's configuration
(:mod:`evals.assessment.facts`) into one typed report (:mod:`evals.assessment.model`), written as
a self-contained Korean HTML page (:mod:`evals.assessment.html`) and as JSON, beside the fields only
the operator can fill in (:mod:`evals.assessment.fields`: purpose, owner, human oversight, …).
"""
