#!/bin/sh
# Re-vendor browser assets from the npm registry into static/vendor/ (see VERSIONS.md there).
set -eu
BOOTSTRAP=5.3.9 HTMX=2.0.11 XTERM=5.5.0 XTERM_FIT=0.10.0
top=$(cd "$(dirname "$0")/.." && pwd); v="$top/static/vendor"; work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for spec in "bootstrap@$BOOTSTRAP" "htmx.org@$HTMX" "@xterm/xterm@$XTERM" "@xterm/addon-fit@$XTERM_FIT"; do
  npm pack -q "$spec" >/dev/null
done
for f in *.tgz; do mkdir "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done
mkdir -p "$v/bootstrap" "$v/htmx" "$v/xterm"
b="bootstrap-$BOOTSTRAP/package"
cp "$b"/dist/css/bootstrap.min.css* "$b"/dist/js/bootstrap.bundle.min.js* "$b/LICENSE" "$v/bootstrap/"
cp "htmx.org-$HTMX/package/dist/htmx.min.js" "htmx.org-$HTMX/package/LICENSE" "$v/htmx/"
x="xterm-xterm-$XTERM/package"
cp "$x/lib/xterm.js" "$x/css/xterm.css" "$x/LICENSE" "$v/xterm/"
cp "xterm-addon-fit-$XTERM_FIT/package/lib/addon-fit.js" "$v/xterm/"
# xterm's files end with "//# sourceMappingURL=….js.map" but we vendor no maps (the maps point
# at TypeScript sources the package does not ship). Production's ManifestStaticFilesStorage
# rewrites that reference during collectstatic and fails on the missing file, which made
# every page a 500 with DEBUG=0. Drop the comment; bootstrap's maps are vendored and stay.
sed -i '/^\/\/# sourceMappingURL=/d' "$v/xterm/xterm.js" "$v/xterm/addon-fit.js"
echo "vendored into $v"
