// hc/hc.hpp — everything a scenario or a test of your own code includes.
#pragma once

#include "hc/atomic.hpp"
#include "hc/check.hpp"
#include "hc/explorer.hpp"
#include "hc/finding.hpp"
#include "hc/scenario.hpp"
#include "hc/settings.hpp"
#include "hc/shard.hpp"
#include "hc/strategy.hpp"
#include "hc/suite.hpp"
#include "hc/sync.hpp"
#include "hc/thread.hpp"
#include "hc/var.hpp"
