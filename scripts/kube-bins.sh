#!/usr/bin/env bash
# Builds the real Kubernetes control plane the Kubernetes tests run against (issue 15): kube-apiserver and
# kube-controller-manager from the k8s.io/kubernetes module, and etcd from go.etcd.io/etcd/server/v3, at the
# versions test/kubernetes/bins/go.mod pins (the staging modules replaced by their published versions), and
# the Gateway API's standard CRDs from the sigs.k8s.io/gateway-api module, and Istio's CRDs from istio.io/api. Everything comes through the Go
# module proxy; nothing else is downloaded.
#
# The binaries are cached by version outside the checkout (SHADOWSCALE_KUBE_CACHE, default
# ~/.cache/shadowscale/kube): a later run on the same machine skips the build. Prints the directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mod="$root/test/kubernetes/bins"
k8s="$(awk '$1 == "k8s.io/kubernetes" { print $2 }' "$mod/go.mod")"
etcd="$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2 }' "$mod/go.mod")"
gwapi="v1.4.1"
dir="${SHADOWSCALE_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shadowscale/kube}/k8s-$k8s-etcd-$etcd-gwapi-$gwapi"
istio="v1.32.0"
# Istio's CRDs (VirtualService, for traffic: istio) from the istio.io/api module: small, so fetched beside a
# cached build without building anything again.
istio_crds() {
  local src
  src="$(cd "$mod" && GOFLAGS=-mod=mod go mod download -json "istio.io/api@$istio" | awk -F'"' '$2 == "Dir" { print $4 }')"
  mkdir -p "$1/istio-crds-$istio"
  cp "$src/kubernetes/customresourcedefinitions.gen.yaml" "$1/istio-crds-$istio/"
  chmod -R u+w "$1/istio-crds-$istio"
}
if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/kube-controller-manager" ] && [ -x "$dir/etcd" ] && [ -d "$dir/gateway-api-crds" ]; then
  [ -f "$dir/istio-crds-$istio/customresourcedefinitions.gen.yaml" ] || istio_crds "$dir"
  echo "$dir"
  exit 0
fi
tmp="$dir.partial.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
cd "$mod"
minor="$(echo "$k8s" | cut -d. -f2)"
ver="-X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
start=$(date +%s)
for cmd in kube-apiserver kube-controller-manager; do
  echo "building $cmd $k8s" >&2
  CGO_ENABLED=0 go build -buildvcs=false -trimpath -ldflags "-s -w $ver" -o "$tmp/$cmd" "k8s.io/kubernetes/cmd/$cmd"
done
echo "building etcd $etcd" >&2
CGO_ENABLED=0 go build -buildvcs=false -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3
# The Gateway API's standard channel CRDs (HTTPRoute with RequestMirror percent, standard since v1.3).
crds="$(GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@$gwapi" | awk -F'"' '$2 == "Dir" { print $4 }')"
mkdir -p "$tmp/gateway-api-crds"
cp "$crds"/config/crd/standard/*.yaml "$tmp/gateway-api-crds/"
chmod -R u+w "$tmp/gateway-api-crds"
istio_crds "$tmp"
echo "built in $(( $(date +%s) - start )) s" >&2
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir"
