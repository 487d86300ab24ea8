#!/bin/sh
# Copy the model folders from SOURCE_DIR onto the models volume MODELS_DIR (Job nuri-models-fill).
#
#   SOURCE_DIR=/source MODELS_DIR=/models sh models_fill.sh
#
# No network: the source is a volume the operator filled (a USB disk behind a hostPath PV, an
# NFS export, another PVC). Every top-level entry of SOURCE_DIR but lost+found is copied to
# MODELS_DIR/.incoming first. If SOURCE_DIR/SHA256SUMS exists (sha256sum format, paths relative
# to SOURCE_DIR), the copy is verified against it and nothing is published on a mismatch; then
# each folder replaces its old version and SHA256SUMS is written last. A later run whose
# SHA256SUMS equals the one on the volume copies nothing. Without SHA256SUMS the copy is
# published unverified (a warning says so). Exit status: 0 done or up to date, 1 failed.
#
# Make the sums where the models are prepared:
#   cd /media/models && find . -type f ! -name SHA256SUMS | sort | xargs -d '\n' sha256sum > SHA256SUMS
set -eu

: "${SOURCE_DIR:?SOURCE_DIR: the folder holding the model folders}"
: "${MODELS_DIR:?MODELS_DIR: the models volume}"
SUMS=SHA256SUMS
incoming="$MODELS_DIR/.incoming"

[ -d "$SOURCE_DIR" ] || { echo "models-fill: no source folder $SOURCE_DIR" >&2; exit 1; }
[ -w "$MODELS_DIR" ] || { echo "models-fill: $MODELS_DIR is not writable (uid $(id -u))" >&2; exit 1; }

if [ -f "$SOURCE_DIR/$SUMS" ] && [ -f "$MODELS_DIR/$SUMS" ] &&
   [ "$(sha256sum < "$SOURCE_DIR/$SUMS")" = "$(sha256sum < "$MODELS_DIR/$SUMS")" ]; then
    echo "models-fill: $MODELS_DIR already holds this $SUMS: nothing to copy"
    exit 0
fi

rm -rf "$incoming"
mkdir -p "$incoming"
copied=0
for entry in "$SOURCE_DIR"/*; do
    [ -e "$entry" ] || continue
    name=$(basename "$entry")
    [ "$name" = "lost+found" ] && continue
    echo "models-fill: copying $name"
    cp -R "$entry" "$incoming/"
    copied=$((copied + 1))
done
[ "$copied" -gt 0 ] || { echo "models-fill: $SOURCE_DIR is empty" >&2; rm -rf "$incoming"; exit 1; }

if [ -f "$incoming/$SUMS" ]; then
    echo "models-fill: verifying the copy against $SUMS"
    if ! (cd "$incoming" && sha256sum -c --quiet "$SUMS"); then
        echo "models-fill: checksum mismatch: nothing published, $MODELS_DIR unchanged" >&2
        rm -rf "$incoming"
        exit 1
    fi
else
    echo "models-fill: WARNING: no $SUMS in $SOURCE_DIR: the copy is not verified" >&2
fi

rm -f "$MODELS_DIR/$SUMS"   # written back last: an interrupted publish never looks up to date
for entry in "$incoming"/*; do
    name=$(basename "$entry")
    [ "$name" = "$SUMS" ] && continue
    rm -rf "$MODELS_DIR/.old-$name"
    if [ -e "$MODELS_DIR/$name" ]; then mv "$MODELS_DIR/$name" "$MODELS_DIR/.old-$name"; fi
    mv "$entry" "$MODELS_DIR/$name"
    rm -rf "$MODELS_DIR/.old-$name"
    echo "models-fill: published $name"
done
if [ -f "$incoming/$SUMS" ]; then mv "$incoming/$SUMS" "$MODELS_DIR/$SUMS"; fi
rmdir "$incoming"
echo "models-fill: done"
