#!/usr/bin/env bash
# Writes the seed corpora of the structure-aware targets from `policies/`
# and the test cases: `corpus/<target>/seed-*`. Run from anywhere; rerun
# after adding examples. A text-mode input is `T<policy text>\0<bytes>`
# (`rewrite`: `T<policy text>\0<sql>\0<bytes>`); the bytes after the text
# seed the rows and contexts, so each seed gets 64 fixed ones.
set -euo pipefail
fuzz="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$fuzz")"
cd "$repo"

entropy() { # 64 bytes fixed by the name
    { printf '%s' "$1" | sha256sum; printf '%s!' "$1" | sha256sum; } | cut -c1-64 | xxd -r -p
}

seed() { # target name: text on stdin
    local dir="$fuzz/corpus/$1"
    mkdir -p "$dir"
    { printf 'T'; cat; printf '\0'; entropy "$2"; } > "$dir/seed-$2"
}

for target in fmt eval combine rewrite; do
    rm -f "$fuzz/corpus/$target"/seed-*
done

for set in policies/*/; do
    name="$(basename "$set")"
    for target in fmt eval combine; do
        cat "$set"*.policy | seed "$target" "$name"
    done
done
for case in tests/fmt/*.policy tests/policy/combine/*.policy; do
    name="$(basename "$case" .policy)"
    case "$case" in
        tests/fmt/*) targets="fmt" ;;
        *) targets="eval combine" ;;
    esac
    for target in $targets; do
        seed "$target" "$name" < "$case"
    done
done
# Every third rewrite case: their SQL over the policy set they name.
n=0
for case in tests/rewrite/*.sql; do
    n=$((n + 1))
    [ $((n % 3)) = 1 ] || continue
    policies="$(sed -n 's/^-- policies: //p' "$case" | head -1)"
    [ -n "$policies" ] || continue
    { cat "$policies"/*.policy; printf '\0'; { grep -v '^-- ' "$case" || true; } | tr -d '\0'; } |
        seed rewrite "$(basename "$case" .sql)"
done
du -sh "$fuzz"/corpus/*
