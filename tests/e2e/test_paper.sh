#!/usr/bin/env bash
# test_paper.sh — lde paper end to end on small stand-ins of the paper configs
# (tests/fixtures/paper: the runner fixture features and the 8×8 fixture images,
# about 20 s): every config present runs, the missing ones are reported, the page
# and its Markdown twin come out with every section, the findings name every claim
# with a verdict, a flat step-0 histogram is replaced and captioned, a second call
# runs nothing, and headless Chromium (Debian's `chromium`, from make deps) renders
# the page — every figure decoded, every table filled, no horizontal scrolling at a
# laptop's 1366 px, no console message. PAPER_SHOT=FILE keeps the screenshot.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$E2E_TMP" || exit 1
q() { sqlite3 lde.db "$1"; }

paper() { "$LDE" paper --configs "$ROOT/tests/fixtures/paper" --db lde.db --out out --models models "$@"; }
paper >out.txt 2>err.txt
rc=$?
check paper_exits_0 test $rc -eq 0
[ $rc -eq 0 ] || tail -5 err.txt
check paper_prints_both_pages test "$(cat out.txt)" = "out/index.html
out/index.md"
check paper_ran_every_present_config test "$(q "SELECT count(DISTINCT experiment) FROM experiment_runs")" -eq 6
check paper_all_runs_done test "$(q "SELECT count(*) FROM runs WHERE status != 'done'")" -eq 0
check paper_reports_beside_page test -s out/normalization/report.md -a -s out/pixels_masks/report.md

H=out/index.html M=out/index.md
check page_has_every_paper_number bash -c "for n in 'Table 1' 'Table 3' 'Table 5' 'Fig. 3' 'Figs. 4–5' 'App. I.1, Fig. 3' 'Fig. 4' 'Fig. 5'; do grep -qF \"\$n —\" $H && grep -qF \"### \$n —\" $M || exit 1; done"
check page_missing_config_is_said grep -q 'pixels_bottleneck.yaml is missing' $M
check page_has_redraw_command grep -qF 'Redraw: `lde report normalization --db lde.db --out out`' $M
check page_has_provenance grep -q 'Provenance: lde [0-9.]*, git ' $M
nimg=$(grep -o '<img ' $H | wc -l)
check page_figures_inline_only test "$nimg" -gt 10 -a "$(grep -o 'src="data:image/png;base64,' $H | wc -l)" -eq "$nimg"
check page_loads_nothing_from_network bash -c "! grep -Eq '(src|href)=\"?(https?:)?//' $H"
check md_links_every_figure_file bash -c "cd out && grep -o '](.*\.png)' index.md | sed 's/^](//; s/)\$//' | while read -r f; do [ -s \"\$f\" ] || exit 1; done"

# Findings: the eight claims, each with a verdict; the ones without data say so.
nverd=$(grep -Ec '^\| .* \| \*\*(held|not held|mixed|no data)\*\* \|' $M)
check findings_list_eight_claims test "$nverd" -eq 8
check findings_without_data_say_why grep -q '| \*\*no data\*\* | experiment `pixels_bottleneck` is not in the database |' $M
check findings_give_numbers grep -Eq 'L2-normalizing .*\| (far|near) [-+][0-9]+\.[0-9]{2} \(' $M

# On L2-normalized features the initial RealNVP (identity couplings) gives every
# sample the same bpd: the histogram shows the first informative step instead.
flat=$(q "SELECT count(DISTINCT mean_bpd) FROM evals e JOIN runs r ON r.id = e.run_id WHERE e.step = 0 AND r.params_json LIKE '%\"normalize\":true%' AND r.params_json LIKE '%realnvp%' AND r.params_json NOT LIKE '%pca\":2%' AND r.params_json NOT LIKE '%pca\":4%' GROUP BY e.run_id LIMIT 1")
check flat_step0_is_flat test "$flat" = 1
check flat_step0_replaced_in_caption grep -q 'at steps 8 and 16 (step 0 left out: every sample had bpd [0-9.]* there; step 8 is the first informative evaluation)' out/normalization/report.md
check flat_step0_not_drawn bash -c "! ls out/normalization/ | grep -q \"^hist_$(q "SELECT substr(id,1,8) FROM runs WHERE params_json LIKE '%\"normalize\":true%' AND params_json LIKE '%\"seed\":0%' AND params_json LIKE '%realnvp%' AND params_json NOT LIKE '%pca\":2%' AND params_json NOT LIKE '%pca\":4%' LIMIT 1")_step0\""
"$LDE" plot normalization --db lde.db --out explicit --kind hist --step 0,last >figs.txt 2>&1
check flat_step0_drawn_when_asked grep -q '_step0_' figs.txt

# Evaluated only at 0 and the end, the flat first panel has no replacement: the
# figure shows the last step alone and says why.
F=$ROOT/tests/fixtures/runner
cat >flat.yaml <<YAML
experiment: flat
data:
  features: {train: $F/train.npy, val: $F/val.npy, ood: {far: $F/far.npy}}
flow: {arch: realnvp, blocks: 2, hidden: 16}
train: {epochs: 1, lr: 1.0e-3}
YAML
"$LDE" run flat.yaml --db flat.db --models models >/dev/null 2>&1
"$LDE" plot flat --db flat.db --out flat --kind hist >flat.txt 2>&1
check flat_only_panel_left_out grep -q '^flat/flat/hist_[0-9a-f]*_step16$' flat.txt
check flat_only_panel_said grep -q 'at step 16 (step 0 left out: every sample had bpd [0-9.]* there)' flat/flat/*.gp

# Resumable: a second call computes nothing and writes the same sections.
paper >out2.txt 2>err2.txt
check paper_rerun_exits_0 test $? -eq 0
check paper_rerun_runs_nothing test "$(grep -c ' 0 done,' err2.txt)" -eq 6
check paper_rerun_same_sections test "$(grep -c '^### ' $M)" -eq 8

# Headless Chromium: screenshot, then the page's own self-check from the DOM and the
# console messages from Chromium's log. A page with a script error must be caught.
CHROME=$(command -v chromium || command -v chromium-browser)
render() { # render PAGE: writes shot.png, dom.html, console.txt
    rm -f shot.png dom.html console.txt
    local flags=(--headless --no-sandbox --disable-gpu --user-data-dir="$E2E_TMP/chrome"
        --window-size=1366,900 --hide-scrollbars)
    timeout 120 "$CHROME" "${flags[@]}" --screenshot="$E2E_TMP/shot.png" "file://$E2E_TMP/$1" \
        >/dev/null 2>&1
    timeout 120 "$CHROME" "${flags[@]}" --enable-logging=stderr --v=0 --virtual-time-budget=5000 \
        --dump-dom "file://$E2E_TMP/$1" >dom.html 2>chrome.log
    grep 'CONSOLE' chrome.log >console.txt
}
if [ -z "$CHROME" ]; then
    fail chromium_installed "no chromium on PATH (make deps installs Debian's chromium)"
else
    render out/index.html
    check chromium_screenshot_written test -s shot.png
    [ -n "${PAPER_SHOT:-}" ] && cp shot.png "$PAPER_SHOT"
    sc=$(grep -o 'data-selfcheck="[^"]*"' dom.html)
    ntab=$(grep -o '<table' $H | wc -l)
    check chromium_every_figure_decoded grep -q "figures $nimg/$nimg " <<<"$sc"
    check chromium_every_table_has_rows grep -q "tables $ntab/$ntab " <<<"$sc"
    check chromium_no_horizontal_scroll_at_1366px grep -q 'overflow 0"' <<<"$sc"
    check chromium_no_console_message test ! -s console.txt
    [ -s console.txt ] && cat console.txt
    [ -n "$sc" ] || echo "self-check missing; chromium said: $(tail -3 chrome.log)"
    # The checks can fail: a page whose script throws, with a broken image.
    mkdir -p bad
    printf '<!DOCTYPE html><html><body><img src="data:image/png;base64,AAAA"><script>nope();</script></body></html>' >bad/index.html
    render bad/index.html
    check chromium_catches_a_script_error grep -q 'nope is not defined' console.txt
fi
finish
