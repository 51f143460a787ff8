/* SPDX-License-Identifier: MIT */
/* CYAML: libyaml for Swift (the web config file is read with its document loader). */
#ifndef CYAML_H
#define CYAML_H

#include <yaml.h>

#endif
