#ifndef SITEWARDEN_CTOMLBRIDGE_H
#define SITEWARDEN_CTOMLBRIDGE_H
// Placeholder: the C API over toml++ is defined with the config loader.
#endif
