// ChainCheck: the chain walk both verifiers share. Each finding here is one
// the stored log and an export word in their own way (audit_log_test.cc,
// audit_export_test.cc check the wording).
#include "audit/chain_check.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace mv {
namespace {

struct Link {
  AuditRecord record;
  std::string prev, hash;
};

AuditRecord Record(uint64_t sequence) {
  AuditRecord r;
  r.sequence = sequence;
  r.time_unix_ms = 1700000000000 + static_cast<int64_t>(sequence);
  r.principal = "alice";
  r.method = "/modelvault.v1.ArtifactService/Download";
  r.resource = "org/model@1";
  r.action = "read";
  return r;
}

class ChainCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = std::move(AuditSigningKey::Generate().value());
  }

  // Records first..last chained from `prev`.
  std::vector<Link> Chain(uint64_t first, uint64_t last, std::string prev) {
    std::vector<Link> links;
    for (uint64_t s = first; s <= last; ++s) {
      Link link{Record(s), prev, ""};
      link.hash = ChainHash(prev, EncodeAuditRecord(link.record));
      prev = link.hash;
      links.push_back(link);
    }
    return links;
  }
  // Adds the checkpoint of `link`, signed by the vault's key.
  ChainCheck::Finding AddSigned(ChainCheck& chain, const Link& link) {
    const Checkpoint c{link.record.sequence, link.hash, 1700000000000};
    return chain.AddCheckpoint(c, key_->Sign(c));
  }

  std::unique_ptr<AuditSigningKey> key_;
};

TEST_F(ChainCheckTest, AnIntactChainAndItsCheckpointsPass) {
  const std::vector<Link> links = Chain(1, 5, GenesisHash());
  ChainCheck chain(key_->public_key(), 0, GenesisHash());
  for (const Link& l : links)
    ASSERT_EQ(chain.AddRecord(l.record, l.prev, l.hash), ChainCheck::kOk);
  EXPECT_EQ(AddSigned(chain, links[2]), ChainCheck::kOk);
  EXPECT_EQ(AddSigned(chain, links[4]), ChainCheck::kOk);
  EXPECT_EQ(chain.next_sequence(), 6u);
  EXPECT_EQ(chain.head(), links[4].hash);
  EXPECT_EQ(chain.checkpoints(), 2u);
  EXPECT_EQ(chain.last_checkpoint(), 5u);
  ASSERT_NE(chain.HashAt(3), nullptr);
  EXPECT_EQ(*chain.HashAt(3), links[2].hash);
  EXPECT_EQ(chain.HashAt(6), nullptr);
}

TEST_F(ChainCheckTest, EachKindOfBrokenRecordIsNamed) {
  const std::vector<Link> links = Chain(1, 3, GenesisHash());
  {
    ChainCheck chain(key_->public_key(), 0, GenesisHash());
    ASSERT_EQ(chain.AddRecord(links[0].record, links[0].prev, links[0].hash),
              ChainCheck::kOk);
    EXPECT_EQ(chain.AddRecord(links[2].record, links[2].prev, links[2].hash),
              ChainCheck::kOutOfPlace);  // 2 was deleted
  }
  {
    ChainCheck chain(key_->public_key(), 0, GenesisHash());
    EXPECT_EQ(chain.AddRecord(links[0].record, links[1].hash, links[0].hash),
              ChainCheck::kPrevMismatch);
  }
  {
    ChainCheck chain(key_->public_key(), 0, GenesisHash());
    AuditRecord edited = links[0].record;
    edited.principal = "mallory";
    EXPECT_EQ(chain.AddRecord(edited, links[0].prev, links[0].hash),
              ChainCheck::kHashMismatch);
    EXPECT_EQ(chain.next_sequence(), 1u);  // a refused record is not taken
  }
}

TEST_F(ChainCheckTest, EachKindOfBadCheckpointIsNamed) {
  const std::vector<Link> links = Chain(1, 4, GenesisHash());
  ChainCheck chain(key_->public_key(), 0, GenesisHash());
  for (const Link& l : links)
    ASSERT_EQ(chain.AddRecord(l.record, l.prev, l.hash), ChainCheck::kOk);
  const Checkpoint c{2, links[1].hash, 1700000000000};
  std::string forged = key_->Sign(c);
  forged[0] ^= 1;
  EXPECT_EQ(chain.AddCheckpoint(c, forged), ChainCheck::kBadSignature);
  Checkpoint other_head = c;
  other_head.head = links[0].hash;
  EXPECT_EQ(chain.AddCheckpoint(other_head, key_->Sign(other_head)),
            ChainCheck::kHeadMismatch);
  Checkpoint ahead{9, links[3].hash, 1700000000000};
  EXPECT_EQ(chain.AddCheckpoint(ahead, key_->Sign(ahead)),
            ChainCheck::kNotCovered);
  ASSERT_EQ(AddSigned(chain, links[3]), ChainCheck::kOk);
  EXPECT_EQ(chain.AddCheckpoint(c, key_->Sign(c)),
            ChainCheck::kCheckpointOrder);
}

TEST_F(ChainCheckTest, AnchoredChainContinuesAfterTheArchive) {
  const std::vector<Link> links = Chain(1, 6, GenesisHash());
  // Records 1-3 archived: the chain goes on from record 3's hash.
  ChainCheck chain(key_->public_key(), 3, links[2].hash);
  EXPECT_EQ(chain.AddRecord(links[2].record, links[2].prev, links[2].hash),
            ChainCheck::kOutOfPlace);
  for (size_t i = 3; i < links.size(); ++i)
    ASSERT_EQ(chain.AddRecord(links[i].record, links[i].prev, links[i].hash),
              ChainCheck::kOk);
  // The anchor's own checkpoint still matches; earlier ones are not covered.
  EXPECT_EQ(AddSigned(chain, links[1]), ChainCheck::kNotCovered);
  EXPECT_EQ(AddSigned(chain, links[2]), ChainCheck::kOk);
}

TEST_F(ChainCheckTest, AnUnanchoredChainStartsAtItsFirstRecord) {
  const std::vector<Link> links = Chain(1, 5, GenesisHash());
  ChainCheck chain(key_->public_key());
  EXPECT_FALSE(chain.started());
  for (size_t i = 2; i < links.size(); ++i)
    ASSERT_EQ(chain.AddRecord(links[i].record, links[i].prev, links[i].hash),
              ChainCheck::kOk);
  EXPECT_TRUE(chain.started());
  EXPECT_EQ(chain.next_sequence(), 6u);
  EXPECT_EQ(chain.HashAt(2), nullptr);  // before the export's first record
}

}  // namespace
}  // namespace mv
