#include "CTOMLBridge.h"
