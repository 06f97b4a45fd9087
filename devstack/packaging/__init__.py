"""The deployment package (``python -m devstack package``, ``make package``).

build   the deployment zip: install, prune, copy handler.py and lib/, compile, zip, check
check   run as a script inside the built package, in a fresh interpreter (``python -I -S -B``)
"""
