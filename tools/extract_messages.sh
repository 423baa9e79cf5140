#!/bin/sh
# Refresh the citizens' catalogue after changing an N_("…") sentence in the code:
# the template from the code, then each language's .po brought up to date (new sentences
# appear untranslated, changed ones marked fuzzy; tests/test_i18n.py fails until a
# translator has filled them in).
set -e
cd "$(dirname "$0")/.."
pybabel -q extract -F babel.cfg --no-default-keywords -k N_ --no-location --sort-output \
    --omit-header -o surveys/locale/citizen.pot .
pybabel -q update -i surveys/locale/citizen.pot -d surveys/locale -D citizen \
    --omit-header --width 100
