"""Change review: what a topology change does to the build, for auditors and merge-request reviewers.

`compare` reads two build directories (through their manifests) and the two allocation locks and returns a
:class:`~countynet.review.compare.Review`: devices added, removed and moved, address changes (freed and
reused), per-device configuration diffs and the policy change. `page` writes it as one self-contained HTML
page and as Markdown (Chinese first, English second); `diagram` draws the topology with Graphviz.

A consumer of `build/` like verify, lab and deploy: it never runs the compiler (the CLI builds the
reference side).
"""
