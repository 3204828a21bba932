# The example shell function: prints the event upper-cased; fails when the event contains
# "fail". Loaded by ./bootstrap with _HANDLER=function.handler.
handler() {
	case "$1" in
	*'"fail"'*)
		echo "asked to fail" >&2
		return 1
		;;
	esac
	printf '%s' "$1" | tr '[:lower:]' '[:upper:]'
}
