package config

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
)

// FileReferrer is implemented by settings that name files the source reads
// once, when it is built (a secret, a certificate). A reload compares their
// contents too: after a secret is rotated or a certificate renewed, SIGHUP
// rebuilds the target even though the configuration text did not change.
type FileReferrer interface {
	ReferencedFiles() []string
}

// FilesFingerprint digests the contents of the files a target's settings
// name (empty if none). A file that cannot be read digests as its error, so
// that it changing into a readable one counts as a change too. Reads are
// bounded by MaxFileSize per file.
func FilesFingerprint(t Target) string {
	fr, ok := t.Settings.(FileReferrer)
	if !ok {
		return ""
	}
	files := fr.ReferencedFiles()
	if len(files) == 0 {
		return ""
	}
	h := sha256.New()
	for _, path := range files {
		io.WriteString(h, path)
		h.Write([]byte{0})
		f, err := os.Open(path)
		if err != nil {
			io.WriteString(h, err.Error())
		} else {
			if _, err := io.Copy(h, io.LimitReader(f, MaxFileSize)); err != nil {
				io.WriteString(h, err.Error())
			}
			f.Close()
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ReferencedFiles implements FileReferrer: the key's secret_file.
func (o *OMAPI) ReferencedFiles() []string {
	if o.Key == nil || o.Key.SecretFile == "" {
		return nil
	}
	return []string{o.Key.SecretFile}
}

// ReferencedFiles implements FileReferrer: the password, credentials and
// TLS files. The source reads them again as they change; a reload that
// finds them changed rebuilds it as well.
func (k *Kea) ReferencedFiles() []string {
	var files []string
	add := func(fs ...string) {
		for _, f := range fs {
			if f != "" {
				files = append(files, f)
			}
		}
	}
	if k.BasicAuth != nil {
		add(k.BasicAuth.UsernameFile, k.BasicAuth.PasswordFile)
	}
	if k.Authorization != nil {
		add(k.Authorization.CredentialsFile)
	}
	for _, t := range []*KeaTLSConfig{k.TLS, k.TLSConfig} {
		if t != nil {
			add(t.CAFile, t.CertFile, t.KeyFile)
		}
	}
	return files
}
