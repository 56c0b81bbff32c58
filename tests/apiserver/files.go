package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

type urlT = url.URL

func mustURL(raw string) url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return *u
}

// generated names the files written before the server starts.
type generated struct {
	caPEM             []byte
	caCert            string
	servingCert       string
	servingKey        string
	serviceAccountKey string
	tokenFile         string
}

func writeFiles(dir, token string) (generated, error) {
	var g generated
	certs := filepath.Join(dir, "pki")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		return g, err
	}
	caKey, caCert, caDER, err := newCA()
	if err != nil {
		return g, err
	}
	servingDER, servingKey, err := newServingCert(caKey, caCert)
	if err != nil {
		return g, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return g, err
	}
	g.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	g.caCert = filepath.Join(certs, "ca.crt")
	g.servingCert = filepath.Join(certs, "serving.crt")
	g.servingKey = filepath.Join(certs, "serving.key")
	g.serviceAccountKey = filepath.Join(certs, "service-account.key")
	g.tokenFile = filepath.Join(certs, "tokens.csv")
	writes := []struct {
		path string
		data []byte
	}{
		{g.caCert, g.caPEM},
		{g.servingCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: servingDER})},
		{g.servingKey, keyPEM(servingKey)},
		{g.serviceAccountKey, keyPEM(saKey)},
		// token,user,uid,"groups"
		{g.tokenFile, []byte(token + ",admin,admin-uid,\"system:masters\"\n")},
	}
	for _, w := range writes {
		if err := os.WriteFile(w.path, w.data, 0o600); err != nil {
			return g, err
		}
	}
	return g, nil
}

func keyPEM(key *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return n
}

func newCA() (*ecdsa.PrivateKey, *x509.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "test-apiserver CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, der, err
}

func newServingCert(caKey *ecdsa.PrivateKey, ca *x509.Certificate) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	return der, key, err
}

func writeKubeconfig(path, server string, caPEM []byte, token string) error {
	ca := base64.StdEncoding.EncodeToString(caPEM)
	text := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test-apiserver
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: test-apiserver
  context:
    cluster: test-apiserver
    user: admin
current-context: test-apiserver
`, server, ca, token)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o600)
}

// waitReady polls /readyz until it answers ok, then returns /version's
// gitVersion; it gives up when the server stops or the context ends.
func waitReady(ctx context.Context, server string, caPEM []byte, token string, stopped <-chan error) (string, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	for {
		if body, err := get(ctx, client, server+"/readyz", token); err == nil && string(body) == "ok" {
			break
		}
		select {
		case err := <-stopped:
			return "", fmt.Errorf("kube-apiserver stopped before it was ready: %v", err)
		case <-ctx.Done():
			return "", errors.New("kube-apiserver did not become ready in time")
		case <-time.After(200 * time.Millisecond):
		}
	}
	body, err := get(ctx, client, server+"/version", token)
	if err != nil {
		return "", err
	}
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", err
	}
	return v.GitVersion, nil
}

func get(ctx context.Context, client *http.Client, address, token string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, address, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", address, resp.Status)
	}
	return body, nil
}
