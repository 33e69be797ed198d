package integration

// Kea's TLS on the Control Agent and on Kea 3.0's own HTTP socket, with
// client certificates required (cert-required), against the exporter's
// tls settings. One server (kea-a, its partner never started: it answers
// status-get all the same).

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testPKI writes a CA, a server certificate for ip and a client
// certificate into dir, as PEM files: ca.pem, server.pem/server.key,
// client.pem/client.key.
func testPKI(t *testing.T, dir string, ip net.IP) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dfe test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", caDER)
	for i, c := range []struct {
		name   string
		usage  x509.ExtKeyUsage
		ipAddr []net.IP
	}{{"server", x509.ExtKeyUsageServerAuth, []net.IP{ip}}, {"client", x509.ExtKeyUsageClientAuth, nil}} {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: "dfe " + c.name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{c.usage}, IPAddresses: c.ipAddr}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, filepath.Join(dir, c.name+".pem"), "CERTIFICATE", der)
		kb, _ := x509.MarshalECPrivateKey(key)
		writePEM(t, filepath.Join(dir, c.name+".key"), "EC PRIVATE KEY", kb)
	}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestKeaTLS: the exporter polls kea-a over HTTPS with a client
// certificate, through the Control Agent and (Kea 3.0+) the daemon's own
// socket; without the client certificate the poll fails with reason auth.
func TestKeaTLS(t *testing.T) {
	forEachKea(t, func(t *testing.T, rt *keaRuntime) {
		p := &keaPair{t: t, rt: rt, mode: "hot-standby", scenario: newScenario("tls"), haPassword: randomSecret(t), ExporterPassword: randomSecret(t)}
		p.lab = newKeaLab(t)
		p.A = newKeaNode(t, rt, "kea-a", p.lab.AddHost("a", "10.251.9.1/24"), true)
		p.Mon = p.lab.AddHost("mon", "10.251.9.3/24")
		pki := filepath.Join(p.A.Dir, "pki")
		if err := os.Mkdir(pki, 0o755); err != nil {
			t.Fatal(err)
		}
		testPKI(t, pki, p.A.Host.Addr.AsSlice())
		p.tls = map[string]any{"trust-anchor": filepath.Join(pki, "ca.pem"), "cert-file": filepath.Join(pki, "server.pem"),
			"key-file": filepath.Join(pki, "server.key"), "cert-required": true}
		peers := []haPeer{{"kea-a", "10.251.9.1", "primary"}, {"kea-b", "10.251.9.2", "standby"}}
		subnets := []map[string]any{{"id": 1, "subnet": "10.251.0.0/16", "pools": []any{map[string]any{"pool": "10.251.100.0 - 10.251.200.255"}}}}
		p.writeKeaConfig(p.A, []map[string]any{p.haEntry("kea-a", p.mode, peers...)}, subnets)
		p.Start(p.A)
		pw := p.passwordFile()
		target := func(name string, port int, service string, withCert bool) string {
			tls := fmt.Sprintf("{ca_file: %s}", filepath.Join(pki, "ca.pem"))
			if withCert {
				tls = fmt.Sprintf("{ca_file: %s, cert_file: %s, key_file: %s}", filepath.Join(pki, "ca.pem"), filepath.Join(pki, "client.pem"), filepath.Join(pki, "client.key"))
			}
			return fmt.Sprintf("- {name: %s, source: kea, url: \"https://10.251.9.1:%d/\", %srelationship: pair, basic_auth: {username: exporter, password_file: %s}, tls: %s, poll_interval: 1s, timeout: 900ms}\n",
				name, port, service, pw, tls)
		}
		cfg := "targets:\n"
		var up, refused []string
		if rt.HasCA {
			cfg += target("ca-tls", keaCAPort, "", true) + target("ca-no-cert", keaCAPort, "", false)
			up, refused = append(up, "ca-tls"), append(refused, "ca-no-cert")
		}
		if rt.HTTPSocket {
			cfg += target("http-tls", keaHTTPPort, `service: "", `, true) + target("http-no-cert", keaHTTPPort, `service: "", `, false)
			up, refused = append(up, "http-tls"), append(refused, "http-no-cert")
		}
		e := startExporter(t, p.Mon, cfg)
		e.Wait(30*time.Second, "TLS targets up, targets without a client certificate refused", func(m metrics) error {
			for _, tg := range up {
				if m.Get("dhcp_failover_up", "target", tg) != 1 {
					return fmt.Errorf("%s not up", tg)
				}
				if got := m.State(tg, "local"); got == "" {
					return fmt.Errorf("%s: no local state", tg)
				}
			}
			for _, tg := range refused {
				if v := m.Get("dhcp_failover_poll_errors_total", "target", tg, "reason", "auth"); !(v >= 1) {
					return fmt.Errorf("%s: auth errors %v", tg, v)
				}
			}
			return nil
		})
	})
}
