#!/usr/bin/env bash
# check_layers.sh — the one-way data path of lde as a check that can fail
# (issue 14; run by `make lint` and by tests/e2e/test_layers.sh).
#
#   tests/lint/check_layers.sh [ROOT] [--objects DIR]
#
# Reads the allowed include order from the ```layers block of ROOT/harness/README.md
# ("FOLDER: FOLDERS IT MAY INCLUDE") and checks every flows/*.[ch] and
# harness/*/*.[ch] under ROOT (default: this repository):
#   1. every project include names its folder ("store/store.h", "flows/flow.h") and
#      that header exists;
#   2. a file includes only headers of its own folder or of folders its folder may
#      include (flows/ includes only flows/);
#   3. no include cycle between modules (a module is X.c with X.h).
# With --objects DIR (a build folder, e.g. build/rel), the same two rules are also
# checked on what the object files really link against (nm): a function of a
# higher folder called through a hand-written declaration, or two files calling
# each other through one header, is caught there. Prints one line per violation and
# exits 1 when there is any, 0 (silently) otherwise.
set -u
shopt -s nullglob
root=.
objects=
while [ $# -gt 0 ]; do
    case "$1" in
    --objects) objects=$2; shift 2 ;;
    *) root=$1; shift ;;
    esac
done
cd "$root" || exit 2
layers=$(awk '/^```layers/{on=1; next} /^```/{on=0} on' harness/README.md)
if [ -z "$layers" ]; then
    echo "check_layers: $root/harness/README.md has no \`\`\`layers block" >&2
    exit 2
fi

# Include edges: "FILE LINE HEADER", one per project include.
edges=$(for f in flows/*.[ch] harness/*/*.[ch]; do
    awk -v f="$f" 'match($0, /^[ \t]*#[ \t]*include[ \t]*"[^"]*"/) {
        s = substr($0, RSTART, RLENGTH); sub(/^[^"]*"/, "", s); sub(/"$/, "", s)
        print f, FNR, s }' "$f"
done)

# What both checks read from the layers block: folder(p) names the folder of a path
# (flows, or the harness subfolder); load() fills known[f], allow[f, g] and list[f].
LAYERS_AWK='
function folder(p) { if (p ~ /^flows\//) return "flows"; sub(/^harness\//, "", p); sub(/\/.*/, "", p); return p }
function load(layers,   n, L, i, j, m, A, line, name, rest, a) {
    n = split(layers, L, "\n")
    for (i = 1; i <= n; i++) {
        line = L[i]; sub(/#.*/, "", line)
        if (line !~ /:/) continue
        name = line; sub(/:.*/, "", name); gsub(/[ \t\/]/, "", name)
        rest = line; sub(/^[^:]*:/, "", rest)
        known[name] = 1
        m = split(rest, A, /[ \t]+/)
        for (j = 1; j <= m; j++) { a = A[j]; gsub(/\//, "", a); if (a != "") allow[name, a] = 1 }
        list[name] = rest
    }
    known["flows"] = 1
}'

report=$(printf '%s\n' "$edges" | awk -v layers="$layers" "$LAYERS_AWK"'
BEGIN { load(layers) }
NF == 3 {
    file = $1; ln = $2; inc = $3
    if (inc !~ /\//) {
        printf "%s:%s: #include \"%s\": name the header by its folder (e.g. \"store/%s\")\n", file, ln, inc, inc
        next
    }
    top = inc; sub(/\/.*/, "", top)
    if (top == "flows") path = inc; else path = "harness/" inc
    if ((getline junk < path) < 0) {
        printf "%s:%s: #include \"%s\": no such header (flows/X.h or a harness folder X/Y.h)\n", file, ln, inc
        next
    }
    close(path)
    from = folder(file)
    if (!(from in known)) { printf "%s: folder %s/ is not declared in harness/README.md (layers)\n", file, from; next }
    if (top != from && !allow[from, top]) {
        if (from == "flows") may = " nothing outside flows/"; else may = list[from]
        printf "%s:%s: #include \"%s\": %s/ may include only its own headers and%s (harness/README.md, layers)\n", file, ln, inc, from, may
        next
    }
    # module edge for the cycle check: X.c and X.h are one module
    m1 = file; sub(/\.[ch]$/, "", m1)
    m2 = path; sub(/\.h$/, "", m2)
    if (m1 != m2) print "EDGE", m1, m2
}')
violations=$(printf '%s\n' "$report" | grep -v '^EDGE ' | grep -v '^$')
module_edges=$(printf '%s\n' "$report" | awk '$1 == "EDGE" { print $2, $3 }')

# Prints one cycle of the directed graph on stdin ("FROM TO" lines), if any, as
# "a -> b -> ... -> a"; depth-first search with colours (mawk-compatible).
find_cycle() {
    awk '
    function dfs(u,   i, v) {
        colour[u] = 1; stack[++sp] = u
        for (i = 1; i <= deg[u]; i++) {
            v = adj[u, i]
            if (colour[v] == 1) { cyc = v; for (k = sp; k >= 1 && stack[k] != v; k--); out = ""
                for (; k <= sp; k++) out = out stack[k] " -> "; out = out v; return 1 }
            if (colour[v] == 0 && dfs(v)) return 1
        }
        colour[u] = 2; sp--
        return 0
    }
    NF == 2 && $1 != $2 { if (!seen[$1, $2]++) adj[$1, ++deg[$1]] = $2; nodes[$1] = 1; nodes[$2] = 1 }
    END { for (u in nodes) if (colour[u] == 0 && dfs(u)) { print out; exit } }'
}

status=0
if [ -n "$violations" ]; then
    printf '%s\n' "$violations"
    status=1
fi
cycle=$(printf '%s\n' "$module_edges" | find_cycle)
if [ -n "$cycle" ]; then
    echo "include cycle between modules: $cycle"
    status=1
fi

# Link-level edges from the objects: who calls a function another object defines.
if [ -n "$objects" ]; then
    # One object per source file of the tree (stale objects of moved files ignored).
    objs=
    for c in flows/*.c harness/*/*.c; do
        o=$objects/${c%.c}.o
        if [ ! -f "$o" ] || [ "$o" -ot "$c" ]; then
            echo "check_layers: $o missing or older than $c (build first)" >&2
            exit 2
        fi
        objs="$objs $o"
    done
    link=$(for o in $objs; do
        m=${o#"$objects"/}; m=${m%.o}
        nm --defined-only -g "$o" | awk -v m="$m" 'NF == 3 { print "DEF", $3, m }'
        nm -u "$o" | awk -v m="$m" '{ print "USE", $NF, m }'
    done | awk -v layers="$layers" "$LAYERS_AWK"'
    BEGIN { load(layers) }
    $1 == "DEF" { def[$2] = $3; next }
    $1 == "USE" { use[++nu] = $2 " " $3 }
    END {
        for (i = 1; i <= nu; i++) {
            split(use[i], U, " "); sym = U[1]; from = U[2]
            if (!(sym in def) || def[sym] == from) continue
            to = def[sym]; ff = folder(from); ft = folder(to)
            if (ff != ft && !allow[ff, ft]) {
                if (ff == "flows") may = " nothing outside flows/"; else may = list[ff]
                printf "%s.o uses %s of %s.o: %s/ may use only its own folder and%s (harness/README.md, layers)\n", from, sym, to, ff, may
            }
            print "EDGE", from, to
        }
    }')
    lv=$(printf '%s\n' "$link" | grep -v '^EDGE ' | grep -v '^$' | sort -u)
    if [ -n "$lv" ]; then
        printf '%s\n' "$lv"
        status=1
    fi
    lcycle=$(printf '%s\n' "$link" | awk '$1 == "EDGE" { print $2, $3 }' | find_cycle)
    if [ -n "$lcycle" ]; then
        echo "link cycle between object files (each calls the other): $lcycle"
        status=1
    fi
fi
exit $status
