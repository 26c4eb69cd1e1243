# bash completion for cifar-act                                  -*- shell-script -*-
# Installed as BASHCOMPDIR/cifar-act (bash-completion loads it on first use).
# Nothing is listed here by hand: options come from `cifar-act --help`, --fn names from
# `cifar-act --list`, and the choices of an option from the error cifar-act prints for
# an empty value ("choose one of: a, b"), so the table in the program is the one list.

_cifar_act_choices()
{
    # $1 program, $2 option: "--style" -> "torchvision tensorboard"
    "$1" "$2" '' 2>&1 >/dev/null | sed -n 's/.*choose one of: \([^(]*\).*/\1/p' | tr -d ','
}

_cifar_act()
{
    local cur prev prog=${COMP_WORDS[0]} words
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    # "--fn=sig": bash splits at "=" (COMP_WORDBREAKS), giving "--fn" "=" "sig".
    if [[ $cur == = ]]; then
        cur=""
    elif [[ $prev == = && COMP_CWORD -ge 2 ]]; then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    elif [[ $cur == --*=* ]]; then
        prev=${cur%%=*} cur=${cur#*=}
    fi
    COMPREPLY=()

    case $prev in
        -f | --fn)
            words=$("$prog" --list 2>/dev/null | awk '/^[a-z0-9_]+ +[A-Z]/ { print $1 }')
            ;;
        -d | --data | -o | --out | --merge)
            compopt -o dirnames 2>/dev/null
            COMPREPLY=($(compgen -d -- "$cur"))
            return
            ;;
        --archive)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -X '!*.tar.gz' -- "$cur") $(compgen -d -- "$cur"))
            return
            ;;
        --shard)
            words="auto auto/"
            ;;
        --style | --layout | --dataset | --split | --label)
            words=$(_cifar_act_choices "$prog" "$prev")
            ;;
        -b | --batch | -n | --max-batches | -j | --jobs | --seed | --normalize | --url | \
        --sha256 | --nrow | --padding | --pad-value | --scale | --png-level | --gallery-batch)
            return # a value only the user knows
            ;;
        *)
            [[ $cur == -* ]] || return
            words=$("$prog" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
            ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _cifar_act cifar-act ./cifar-act
