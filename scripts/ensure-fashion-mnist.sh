#!/usr/bin/env bash
# Make sure the real Fashion-MNIST is on this machine. Idempotent.
# Debian's dataset-fashion-mnist package puts the four IDX files under
# /usr/share/datasets/fashion-mnist/. Without root or apt-get, say how to get it.
set -u
DIR=/usr/share/datasets/fashion-mnist
FILES="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"

have_all() {
  for f in $FILES; do [ -s "$1/$f" ] || return 1; done
}

for d in "${CNNZOO_DATA:-}/fashion-mnist" "$HOME/.cache/cnnzoo/fashion-mnist" "$DIR"; do
  if have_all "$d"; then
    echo "Fashion-MNIST: found in $d"
    exit 0
  fi
done

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Fashion-MNIST: installing the Debian package dataset-fashion-mnist ..."
  if (apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
      || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1)) \
      && have_all "$DIR"; then
    echo "Fashion-MNIST: installed in $DIR"
    exit 0
  fi
  echo "Fashion-MNIST: apt-get could not install dataset-fashion-mnist." >&2
fi

cat >&2 <<MSG
Fashion-MNIST is not on this machine. Get it in one of these ways:
  - as root on Debian/Ubuntu:  apt-get install dataset-fashion-mnist
  - or put the four files $FILES
    into \$CNNZOO_DATA/fashion-mnist/ or ~/.cache/cnnzoo/fashion-mnist/
Models and tests that do not need it still work; the tests that read it are skipped.
MSG
exit 0
