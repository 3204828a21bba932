#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sandlot-agent's bash completion (dist/bash-completion/sandlot-agent), sourced into a plain bash
# and asked as bash asks it (COMP_WORDS, COMP_CWORD): commands, options, option values, run's
# CMD; and every option the binary's --help lists (each command's, the daemon's) is offered.
#
# Usage: test_agent_completion.sh COMPLETION_FILE SANDLOT_AGENT
set -u
file=${1:?usage: test_agent_completion.sh COMPLETION_FILE SANDLOT_AGENT}
agent=$(realpath "${2:?usage: test_agent_completion.sh COMPLETION_FILE SANDLOT_AGENT}")
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# shellcheck source=/dev/null
source "$file" || exit 1
complete -p sandlot-agent | grep -q -- '-F _sandlot_agent' || fail "no complete -F for sandlot-agent"

# The completions of a command line (words, the last one being completed), sorted, one line.
comp() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_sandlot_agent
	printf '%s\n' "${COMPREPLY[@]}" | grep . | sort -u | tr '\n' ' '
}
# expect 'WANTED WORDS ' WORD...: exactly these completions
expect() {
	local want=$1 got
	shift
	got=$(comp "$@")
	[ "$got" = "$want" ] || fail "${*@Q}: want '$want', got '$got'"
}
# offers WORD WORD...: the completions of the words after the first include it
offers() {
	local word=$1 got
	shift
	got=" $(comp "$@")"
	[[ $got == *" $word "* ]] || fail "${*@Q}: '$word' not offered (got:$got)"
}
# offers_not WORD WORD...
offers_not() {
	local word=$1 got
	shift
	got=" $(comp "$@")"
	[[ $got != *" $word "* ]] || fail "${*@Q}: '$word' offered"
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/fn-dir"
touch "$scratch/fn.zip" "$scratch/event.json"
cd "$scratch" || exit 1

# commands, and global options before them
expect 'invoke probe run ' sandlot-agent ''
expect 'run ' sandlot-agent r
expect 'debug error info off warn ' sandlot-agent --log-level ''
expect 'debug ' sandlot-agent --log-level = d # --log-level=d
expect 'run ' sandlot-agent --log-level debug r
offers --daemon-help sandlot-agent --da
offers --version sandlot-agent --v
# run: options, values, CMD with and without "--", its arguments as files
expect '--memory ' sandlot-agent run --me
expect 'egress none ' sandlot-agent run --net ''
expect 'egress ' sandlot-agent run --net = e # --net=e
expect 'fn-dir ' sandlot-agent run --rootfs fn
expect '--json ' sandlot-agent --log-level info run --js
offers true sandlot-agent run -- tru
# each command once (bash lists a builtin and each PATH entry of one name apart)
COMP_WORDS=(sandlot-agent run -- tru) COMP_CWORD=3 COMPREPLY=()
_sandlot_agent
[ "$(printf '%s\n' "${COMPREPLY[@]}" | sort | uniq -d)" = "" ] || fail "run -- tru: duplicates"
offers true sandlot-agent run --memory 256M tru
expect 'event.json ' sandlot-agent run -- cat ev
expect 'event.json ' sandlot-agent run --json cat ev
expect '' sandlot-agent run --timeout ''
# invoke and probe
expect '--region --repeat ' sandlot-agent invoke --re
expect 'fn-dir fn.zip ' sandlot-agent invoke --code fn
offers - sandlot-agent invoke --event ''
offers event.json sandlot-agent invoke --event ''
offers 1769 sandlot-agent invoke --memory ''
expect '--no-mount ' sandlot-agent probe --no
# the daemon: after one of its options, no command
expect '--max-sandboxes ' sandlot-agent --state-dir /tmp --max
offers_not run sandlot-agent --zone az1 ''
offers --keep-alive sandlot-agent --zone az1 ''
expect 'fn-dir ' sandlot-agent --state-dir fn
expect '' sandlot-agent --http ''

# Every option each --help lists is offered (the completion follows the binary).
help_opts() {
	grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+' | sort -u
}
check_help() { # check_help WHAT HELP_TEXT WORDS...: WORDS + "--" is where options are asked
	local what=$1 text=$2 opt n=0
	shift 2
	for opt in $(help_opts <<<"$text"); do
		offers "$opt" "$@" --
		n=$((n + 1))
	done
	[ "$n" -ge 3 ] || fail "$what: only $n options found in its --help"
}
check_help run "$("$agent" run --help)" sandlot-agent run
check_help invoke "$("$agent" invoke --help)" sandlot-agent invoke
check_help probe "$("$agent" probe --help)" sandlot-agent probe
check_help daemon "$("$agent" --daemon-help)" sandlot-agent
# and every command sandlot-agent --help lists
cmds=$("$agent" --help | sed -n '/^Commands:/,/^$/p' | grep -oE '^  [a-z]+' | tr -d ' ')
[ -n "$cmds" ] || fail "no commands in sandlot-agent --help"
for c in $cmds; do
	offers "$c" sandlot-agent ''
done

if [ "$fails" -gt 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "bash completion of sandlot-agent: ok"
