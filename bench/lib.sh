# Helpers shared by the benchmarks (sourced).
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

# A VM restored from a template gets its RAM as a memfd filled before QEMU maps it: pages QEMU has
# not touched yet are resident without showing in any PSS. Prints their kB (0 for a cold boot) and
# says how much there is on stderr.
guest_ram_unmapped_kb() { # QEMU pid
  local fd res mapped
  for fd in /proc/"$1"/fd/*; do
    case "$(readlink "$fd")" in
    */memfd:hako-guest-ram*)
      res=$(($(stat -L -c %b "$fd") / 2))
      mapped=$(awk '/memfd:hako-guest-ram/ {m=1; next} /^[0-9a-f]+-[0-9a-f]+ / {m=0} m && /^Rss:/ {s+=$2} END {print s+0}' "/proc/$1/smaps")
      echo "guest RAM memfd (restored from a template): $((res / 1024)) MB resident, $((mapped / 1024)) MB of it mapped by QEMU" >&2
      echo $((res > mapped ? res - mapped : 0))
      return;;
    esac
  done
  echo 0
}
