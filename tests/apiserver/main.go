// Command test-apiserver runs a real kube-apiserver for the test suite: an
// embedded etcd with its data in a folder of its own, and kube-apiserver in
// this process, serving HTTPS on 127.0.0.1 with a CA generated at start, one
// static bearer token (a user in system:masters) and RBAC authorization.
//
// When the server answers /readyz it writes a kubeconfig and prints one line,
// "ready <server URL> <kubeconfig path> <gitVersion>", on stdout; the server's
// own log goes to stderr. SIGTERM or SIGINT stops it and removes the data
// folder when the program made it.
//
// No controller-manager and no scheduler run: objects are stored, validated,
// defaulted and admitted as on any cluster, but nothing acts on them
// (Deployments get no ReplicaSets, namespaces being deleted stay Terminating,
// no default ServiceAccounts are made).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

type settings struct {
	dataDir    string
	port       int
	kubeconfig string
	token      string
	timeout    time.Duration
}

func parseFlags() settings {
	var s settings
	flag.StringVar(&s.dataDir, "data-dir", "", "folder for etcd's data, the certificates and the token file (default: a new temporary folder, removed on exit)")
	flag.IntVar(&s.port, "port", 0, "HTTPS port on 127.0.0.1 (default: a free port)")
	flag.StringVar(&s.kubeconfig, "kubeconfig", "", "where to write the kubeconfig (default: DATA-DIR/kubeconfig)")
	flag.StringVar(&s.token, "token", "", "the bearer token of the admin user (default: a random one)")
	flag.DurationVar(&s.timeout, "ready-timeout", 3*time.Minute, "how long to wait for /readyz before giving up")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags]\n\nRuns etcd and kube-apiserver on 127.0.0.1 for tests.\n\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	return s
}

func main() {
	if err := run(parseFlags()); err != nil {
		fmt.Fprintln(os.Stderr, "test-apiserver:", err)
		os.Exit(1)
	}
}

func run(s settings) error {
	if s.dataDir == "" {
		dir, err := os.MkdirTemp("", "test-apiserver-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		s.dataDir = dir
	}
	if s.kubeconfig == "" {
		s.kubeconfig = filepath.Join(s.dataDir, "kubeconfig")
	}
	if s.token == "" {
		raw := make([]byte, 24)
		if _, err := rand.Read(raw); err != nil {
			return err
		}
		s.token = hex.EncodeToString(raw)
	}
	if s.port == 0 {
		port, err := freePort()
		if err != nil {
			return err
		}
		s.port = port
	}
	files, err := writeFiles(s.dataDir, s.token)
	if err != nil {
		return err
	}
	etcd, etcdURL, err := startEtcd(filepath.Join(s.dataDir, "etcd"))
	if err != nil {
		return err
	}
	defer etcd.Close()

	server := "https://127.0.0.1:" + strconv.Itoa(s.port)
	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(apiserverArgs(s, files, etcdURL))
	done := make(chan error, 1)
	go func() { done <- cmd.Execute() }()

	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	version, err := waitReady(ctx, server, files.caPEM, s.token, done)
	if err != nil {
		return err
	}
	if err := writeKubeconfig(s.kubeconfig, server, files.caPEM, s.token); err != nil {
		return err
	}
	fmt.Printf("ready %s %s %s\n", server, s.kubeconfig, version)
	return <-done
}

func apiserverArgs(s settings, f generated, etcdURL string) []string {
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(s.port),
		"--cert-dir=" + filepath.Join(s.dataDir, "apiserver-certs"),
		"--tls-cert-file=" + f.servingCert,
		"--tls-private-key-file=" + f.servingKey,
		"--client-ca-file=" + f.caCert,
		"--token-auth-file=" + f.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + f.serviceAccountKey,
		"--service-account-signing-key-file=" + f.serviceAccountKey,
		"--service-cluster-ip-range=10.0.0.0/16", // room for the benchmark's Services
		// No controller-manager makes default ServiceAccounts, so the plugin
		// that requires them would refuse every Pod.
		"--disable-admission-plugins=ServiceAccount",
		// A loopback address is no valid endpoint for the kubernetes Service.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("no TCP address")
	}
	return addr.Port, nil
}

func startEtcd(dir string) (*embed.Etcd, string, error) {
	clientPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, "", err
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.LogLevel = "error"
	clientURL, peerURL := mustURL("http://127.0.0.1:"+strconv.Itoa(clientPort)), mustURL("http://127.0.0.1:"+strconv.Itoa(peerPort))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []urlT{clientURL}, []urlT{clientURL}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []urlT{peerURL}, []urlT{peerURL}
	cfg.InitialCluster = cfg.Name + "=" + peerURL.String()
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(time.Minute):
		e.Close()
		return nil, "", errors.New("etcd did not become ready within a minute")
	}
	return e, clientURL.String(), nil
}
