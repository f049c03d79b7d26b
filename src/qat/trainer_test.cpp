// QAT's training loop: every epoch visits every row once, in a fresh seeded order, and keeps
// training (the data iterator never runs dry after the first epoch).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "qat/qat_model.h"
#include "qat/qat_test_util.h"
#include "qat/trainer.h"
#include "quant/plan.h"
#include "quant/weights.h"

using namespace tinyq;
using namespace tinyq::qat::testing;

namespace {

constexpr int64_t kRows = 100;
constexpr int64_t kBatch = 32;  // 100 rows: three full batches and one of 4
constexpr int kEpochs = 4;

struct LoopCase {
  ir::Model model = spread_mlp(3);
  quant::QuantPlan plan;
  qat::TrainingData data;
  LoopCase() {
    plan = *quant::plan_quantization(model.graph, {});
    data.rows = kRows;
    data.inputs.push_back(random_tensor({kRows, 8}, 4));
    data.targets.push_back(random_tensor({kRows, 1}, 5));
  }
  qat::QatModel make_model() const {
    qat::ModelConfig config;
    // Any valid grid will do here: this tests the loop, not the accuracy.
    for (const auto& t : plan.activations) config.activations[t] = quant::ActivationParams{0.02f, 128};
    for (const auto& site : plan.nodes)
      for (const auto& w : site.weights)
        config.weight_scales[w.initializer] = quant::max_abs_scales(model.graph.initializers.at(w.initializer), w.axis);
    config.learning_rate = 1e-3;
    auto m = qat::QatModel::create(model, plan, config);
    EXPECT_TRUE(m.is_ok()) << m.status().to_string();
    return std::move(m).value();
  }
};

TEST(QatTrainer, EveryEpochVisitsEveryRowInANewOrderAndTrains) {
  LoopCase s;
  qat::QatModel model = s.make_model();
  std::vector<std::vector<int64_t>> orders;
  std::vector<Tensor> w1_after;  // w1 after each epoch; [0] before training
  qat::TrainLoopOptions o;
  o.epochs = kEpochs;
  o.batch = kBatch;
  o.seed = 9;
  o.on_order = [&](int, const std::vector<int64_t>& order) { orders.push_back(order); };
  o.on_epoch = [&](const QatEpoch&) { w1_after.push_back(model.state().initializers.at("w1")); };
  auto epochs = qat::train_epochs(model, s.data, o);
  ASSERT_TRUE(epochs.is_ok()) << epochs.status().to_string();
  ASSERT_EQ(epochs->size(), static_cast<size_t>(kEpochs + 1));
  ASSERT_EQ(orders.size(), static_cast<size_t>(kEpochs));

  std::vector<int64_t> all(kRows);
  std::iota(all.begin(), all.end(), 0);
  for (int e = 1; e <= kEpochs; ++e) {
    const QatEpoch& ep = (*epochs)[static_cast<size_t>(e)];
    EXPECT_EQ(ep.epoch, e);
    EXPECT_EQ(ep.rows, kRows) << "epoch " << e;
    EXPECT_EQ(ep.batches, (kRows + kBatch - 1) / kBatch) << "epoch " << e;
    EXPECT_TRUE(std::isfinite(ep.loss));
    std::vector<int64_t> sorted = orders[static_cast<size_t>(e - 1)];
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, all) << "epoch " << e << " does not visit every row exactly once";
    if (e > 1) EXPECT_NE(orders[static_cast<size_t>(e - 1)], orders[static_cast<size_t>(e - 2)]) << "epoch " << e << " reuses the order";
    // The weights move during every epoch, the last included: later epochs see data.
    const Tensor& before = w1_after[static_cast<size_t>(e - 1)];
    const Tensor& after = w1_after[static_cast<size_t>(e)];
    EXPECT_NE(std::memcmp(before.raw(), after.raw(), before.nbytes()), 0) << "epoch " << e << " trained nothing";
  }
}

TEST(QatTrainer, OrderDependsOnlyOnTheSeed) {
  LoopCase s;
  auto orders_for = [&](uint64_t seed) {
    qat::QatModel model = s.make_model();
    std::vector<std::vector<int64_t>> orders;
    qat::TrainLoopOptions o;
    o.epochs = 2;
    o.batch = kBatch;
    o.seed = seed;
    o.on_order = [&](int, const std::vector<int64_t>& order) { orders.push_back(order); };
    EXPECT_TRUE(qat::train_epochs(model, s.data, o).is_ok());
    return orders;
  };
  EXPECT_EQ(orders_for(1), orders_for(1));
  EXPECT_NE(orders_for(1), orders_for(2));
}

TEST(QatTrainer, GatherRowsPicksRowsInOrder) {
  Tensor t = Tensor::from_vector<float>({3, 2}, {0, 1, 10, 11, 20, 21});
  Tensor g = qat::gather_rows(t, {2, 0});
  EXPECT_EQ(g.shape(), (Shape{2, 2}));
  EXPECT_EQ(std::vector<float>(g.data<float>(), g.data<float>() + 4), (std::vector<float>{20, 21, 0, 1}));
}

}  // namespace
