#!/usr/bin/env bash
# test_plot.sh — lde plot, table and report on a database written by a real (tiny)
# lde run: normalize [false, true] × seed [0, 1] on the runner fixture features
# (tests/fixtures/runner), 2 epochs, evaluated every half epoch (about 4 s).
# Every figure in every format must be a valid file of the requested size, its
# gnuplot script must redraw it, and the table and report must come out.
source "$(dirname "$0")/lib.sh"
F=$(cd "$(dirname "$0")/../fixtures/runner" && pwd)
cd "$E2E_TMP" || exit 1

cat >tiny.yaml <<YAML
experiment: tiny
seed: [0, 1]
data:
  features: {train: $F/train.npy, val: $F/val.npy, ood: {far: $F/far.npy, near: $F/near.npy}}
preprocess:
  normalize: [false, true]
flow:
  arch: realnvp
  blocks: 2
  hidden: 32
train:
  epochs: 2
  batch_size: 64
  lr: 1.0e-3
  eval_every: 0.5
YAML
"$LDE" run tiny.yaml --db lde.db --models models >run.txt 2>&1
check run_tiny_grid test $? -eq 0

# png_size FILE — "W H" from the IHDR chunk, after checking the PNG signature.
png_size() {
    [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = 89504e470d0a1a0a ] || return 1
    od -An -tu1 -j16 -N8 "$1" | awk '{ print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8 }'
}
# pdf_size FILE — "W H" in points from the first MediaBox.
pdf_size() {
    [ "$(head -c 5 "$1")" = "%PDF-" ] || return 1
    grep -a -o -m1 '/MediaBox \[ 0 0 [0-9.]* [0-9.]* \]' "$1" | awk '{ print $5, $6 }'
}
svg_size() {
    grep -q '</svg>' "$1" || return 1
    tr '\n' ' ' <"$1" | grep -o '<svg[^>]*>' | sed -E 's/.*width="([0-9]+)".*height="([0-9]+)".*/\1 \2/'
}

"$LDE" plot tiny --db lde.db --out plots --format png,pdf,svg --size 700x450 >figs.txt 2>err.txt
check plot_all_kinds_exit_0 test $? -eq 0
# 4 runs: 4 histograms; 2 grid points: 2 curves; 1 axis: 1 sweep.
check plot_lists_7_figures test "$(wc -l <figs.txt)" -eq 7
bad=""
while read -r fig; do
    [ "$(png_size "$fig.png")" = "700 450" ] || bad="$bad $fig.png"
    [ "$(pdf_size "$fig.pdf")" = "336 216" ] || bad="$bad $fig.pdf" # 700/150 in × 72 pt
    [ "$(svg_size "$fig.svg")" = "700 450" ] || bad="$bad $fig.svg"
    [ -s "$fig.gp" ] || bad="$bad $fig.gp"
done <figs.txt
check every_figure_valid_at_requested_size test -z "$bad"
[ -n "$bad" ] && echo "bad:$bad"
check sweep_is_named_for_its_axis test -s plots/tiny/sweep_normalize_auroc_last.png
check curves_have_data_files test -s plots/tiny/curves_normalize-true_auroc.dat
check no_staging_left test -z "$(find plots -name '.lde-stage-*')"

# Each script redraws its figure with plain gnuplot, from its own directory.
fig=$(basename "$(grep curves figs.txt | head -1)")
rm -f "plots/tiny/$fig.png"
(cd plots/tiny && gnuplot "$fig.gp" 2>/dev/null)
check gp_script_redraws_png test "$(png_size "plots/tiny/$fig.png")" = "700 450"

"$LDE" table tiny --db lde.db >table.md
check table_markdown_header grep -qx '| normalize | far | near |' table.md
check table_markdown_rows test "$(grep -c '^| \(false\|true\) | ' table.md)" -eq 2
"$LDE" table tiny --db lde.db --format latex >table.tex
check table_latex_booktabs grep -q '\\toprule' table.tex
check table_latex_tabular grep -q '\\begin{tabular}{lrr}' table.tex
"$LDE" table tiny --db lde.db --format csv --metric fpr95 --step best >table.csv
check table_csv_header grep -qx 'normalize,far,far_std,near,near_std,runs' table.csv

"$LDE" report tiny --db lde.db --out plots >report.txt
check report_written test -s plots/tiny/report.md
check report_has_table grep -q '| normalize | far | near |' plots/tiny/report.md
check report_has_provenance grep -q "| done | 5 |" plots/tiny/report.md

expect_exit plot_missing_experiment 2 "no experiment 'nosuch' \(experiments: tiny\)" \
    "$LDE" plot nosuch --db lde.db --out plots
expect_exit table_missing_axis 2 "'pca' is not a grid axis \(axes that vary: preprocess.normalize\)" \
    "$LDE" table tiny --db lde.db --rows pca
expect_exit plot_without_gnuplot 2 "gnuplot-nox" env PATH=/nonexistent "$LDE" plot tiny --db lde.db --out nope
check plot_without_gnuplot_writes_nothing test ! -e nope
finish
