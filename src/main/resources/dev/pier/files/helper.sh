# Pier's file helper: runs in a throwaway container that has only the instance's volume, at /v.
# Called as: sh -c "$(this file)" pier OP PATH [ARG]. PATH is relative to the volume, already
# normalized by Pier (no empty, "." or ".." segment, no control character). Data goes to stdout (or comes
# from stdin); the outcome is the last line on stderr: "pier-ok [DETAIL]" or "pier-err KIND MESSAGE".
# No link is ever followed: a symbolic link on the way, or at the end for a read or a write, is refused.
set -u
fail() {
    echo "pier-err $1 $2" >&2
    exit 1
}
# Sets p to /v/PATH after checking every directory on the way; with "create", makes the missing ones.
walk() {
    p=/v
    rest=$1
    while [ -n "$rest" ]; do
        seg=${rest%%/*}
        if [ "$seg" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
        p="$p/$seg"
        if [ -n "$rest" ]; then
            [ -L "$p" ] && fail link "a directory on the way is a symbolic link"
            if [ ! -e "$p" ] && [ "$2" = create ]; then
                mkdir -- "$p" || fail io "cannot make a directory on the way"
            fi
            [ -e "$p" ] || fail missing "no such directory on the way"
            [ -d "$p" ] || fail notdir "a file is on the way where a directory should be"
        fi
    done
    # the directory it is in, resolved, is the volume or in it (the checks above say so; this says it again)
    case "$(readlink -f -- "${p%/*}" 2>/dev/null || echo /v)" in
        /v | /v/*) ;;
        *) fail link "the path leads out of the volume" ;;
    esac
}
exists() {
    [ -e "$1" ] || [ -L "$1" ]
}
# A restore's places, by the restore's id: the archive is unpacked into $stage; then the old data is set
# aside in $old, $mark says so, and the restored data comes up. Each step can be finished after a crash.
places() {
    stage="/v/.pier-restore-$1"
    old="/v/.pier-old-$1"
    mark="/v/.pier-swapped-$1"
}
# Moves every entry of directory $1 but $stage, $old and $mark into directory $2.
move_all() {
    for f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        case "$f" in "$stage" | "$old" | "$mark") continue ;; esac
        mv -- "$f" "$2/" || fail io "cannot move $f"
    done
}
# Sets the old data aside (again, after a crash), then brings the restored data up and drops the old.
swap() {
    if [ ! -e "$mark" ]; then
        mkdir -p -- "$old" || fail io "cannot make room for the old data"
        move_all /v "$old"
        : > "$mark" || fail io "cannot mark the swap"
    fi
    move_all "$stage" /v
    rmdir -- "$stage" && rm -rf -- "$old" && rm -f -- "$mark" || fail io "cannot clean up after the restore"
}
op=$1
case "$op" in
    list)
        walk "$2" find
        [ -L "$p" ] && fail link "it is a symbolic link"
        exists "$p" || fail missing "no such directory"
        [ -d "$p" ] || fail notdir "not a directory"
        find "$p" -mindepth 1 -maxdepth 1 -exec stat -c "%F/%s/%a/%Y/%n$3" {} + || fail io "cannot list it"
        echo "pier-ok" >&2
        ;;
    read)
        walk "$2" find
        [ -L "$p" ] && fail link "it is a symbolic link"
        exists "$p" || fail missing "no such file"
        [ -f "$p" ] || fail notfile "not a regular file"
        [ -r "$p" ] || fail io "cannot read it"
        echo "pier-ok $(stat -c %s -- "$p")" >&2
        exec cat -- "$p"
        ;;
    write)
        walk "$2" find
        [ -L "$p" ] && fail link "it is a symbolic link"
        [ -d "$p" ] && fail isdir "it is a directory"
        tmp="${p%/*}/.pier-upload-$3"
        if ! cat > "$tmp"; then
            rm -f -- "$tmp"
            fail io "cannot write it (is the volume full?)"
        fi
        if [ "$(stat -c %s -- "$tmp")" != "$4" ]; then
            rm -f -- "$tmp"
            fail short "the upload ended early"
        fi
        mv -f -- "$tmp" "$p" || { rm -f -- "$tmp"; fail io "cannot put it in place"; }
        echo "pier-ok $(stat -c %s -- "$p")" >&2
        ;;
    mkdir)
        walk "$2" create
        exists "$p" && fail exists "it already exists"
        mkdir -- "$p" || fail io "cannot make it"
        echo "pier-ok" >&2
        ;;
    move)
        walk "$2" find
        from=$p
        exists "$from" || fail missing "no such file or directory"
        walk "$3" find
        exists "$p" && fail exists "the destination already exists"
        case "$p/" in "$from"/*) fail inside "a directory cannot move into itself" ;; esac
        mv -- "$from" "$p" || fail io "cannot move it"
        echo "pier-ok" >&2
        ;;
    delete)
        walk "$2" find
        exists "$p" || fail missing "no such file or directory"
        rm -rf -- "$p" || fail io "cannot delete all of it"
        echo "pier-ok" >&2
        ;;
    backup)
        tar -czf - -C /v . || fail io "cannot archive the volume"
        echo "pier-ok" >&2
        ;;
    restore)
        places "$2"
        rm -rf -- "$stage" "$old" "$mark"
        mkdir -- "$stage" || fail io "cannot make room to unpack the archive"
        if ! tar -xzf - -C "$stage"; then
            rm -rf -- "$stage"
            fail corrupt "the archive cannot be unpacked; the data was left as it was"
        fi
        swap
        echo "pier-ok" >&2
        ;;
    recover)
        places "$2"
        if [ -e "$mark" ] || [ -d "$old" ]; then
            swap
            echo "pier-ok restored" >&2
        else
            rm -rf -- "$stage"
            echo "pier-ok kept" >&2
        fi
        ;;
    *)
        fail usage "unknown operation"
        ;;
esac
