"""Reinforcement-learning programs written for PyTorch, trimmed (tiny networks, a few
updates, a small deterministic environment in NumPy inside the program): CleanRL's PPO
(discrete, continuous, with an LSTM), SAC (continuous and discrete), DQN, C51 and TD3,
Spinning Up's SAC, a CORL-style TanhNormal SAC, PyTorch's DQN tutorial (Double DQN), a
NoisyNet quantile DQN, DDPG, TRPO, an n-step A2C, and pytorch/examples' REINFORCE and
actor-critic. Each runs with PyTorch and with ``import torch`` read as ``import chainrule
as torch``, from PyTorch's initial weights; PyTorch's random draws (``randn``,
``randn_like``, ``torch.normal``, ``randperm``, the distributions' ``sample`` and the noise
of ``rsample``) are recorded and given to chainrule's run in the same order. Losses,
actions and final weights must agree in float64 (see ``test_torch_programs``)."""

import pytest

import chainrule.distributions.continuous
from test_torch_programs_generative import _compare_with_pytorch

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _samplers(lib):
    """The distributions' samplers a program reaches (beyond ``torch.randn`` and the like):
    what ``sample`` returns, and the standard normal noise of ``Normal.rsample``."""
    d = lib.distributions
    noise = (torch.distributions.normal, "_standard_normal") if lib is torch else (
        chainrule.distributions.continuous, "noise")
    return [(lib, "normal"), (d.Normal, "sample"), (d.Categorical, "sample"), (d.MultivariateNormal, "sample"),
            (d.utils, "_standard_normal"), noise]


# two small environments, NumPy only, deterministic from their seed: CartPole's dynamics
# (vectorised, episodes cut at a few steps so that GAE and the targets see dones) and a
# point mass pushed by a force in [-1, 1]
ENVS = '''
import numpy as np


class CartPole:
    single_observation_space_shape = (4,)
    n_actions = 2

    def __init__(self, num_envs, seed, max_steps=5):
        self.rng = np.random.default_rng(seed)
        self.num_envs, self.max_steps = num_envs, max_steps

    def reset(self):
        self.state = self.rng.uniform(-0.05, 0.05, size=(self.num_envs, 4))
        self.t = np.zeros(self.num_envs, dtype=int)
        return self.state.copy()

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state.T
        force = np.where(np.asarray(action) == 1, 10.0, -10.0)
        costheta, sintheta = np.cos(theta), np.sin(theta)
        temp = (force + 0.05 * theta_dot ** 2 * sintheta) / 1.1
        thetaacc = (9.8 * sintheta - costheta * temp) / (0.5 * (4.0 / 3.0 - 0.1 * costheta ** 2 / 1.1))
        xacc = temp - 0.05 * thetaacc * costheta / 1.1
        self.state = np.stack([x + 0.02 * x_dot, x_dot + 0.02 * xacc,
                               theta + 0.02 * theta_dot, theta_dot + 0.02 * thetaacc], axis=1)
        self.t += 1
        done = (np.abs(self.state[:, 0]) > 2.4) | (np.abs(self.state[:, 2]) > 0.2095) | (self.t >= self.max_steps)
        reward = np.ones(self.num_envs)
        if done.any():
            self.state[done] = self.rng.uniform(-0.05, 0.05, size=(int(done.sum()), 4))
            self.t[done] = 0
        return self.state.copy(), reward, done


class PointMass:
    single_observation_space_shape = (3,)
    single_action_space_shape = (1,)
    low, high = -1.0, 1.0

    def __init__(self, num_envs, seed, max_steps=4):
        self.rng = np.random.default_rng(seed)
        self.num_envs, self.max_steps = num_envs, max_steps

    def reset(self):
        self.pos = self.rng.uniform(-1, 1, size=self.num_envs)
        self.vel = np.zeros(self.num_envs)
        self.t = np.zeros(self.num_envs, dtype=int)
        return self.obs()

    def obs(self):
        return np.stack([self.pos, self.vel, self.t / self.max_steps], axis=1)

    def sample_action(self):
        return self.rng.uniform(self.low, self.high, size=(self.num_envs, 1))

    def step(self, action):
        a = np.clip(np.asarray(action, dtype=np.float64).reshape(self.num_envs), self.low, self.high)
        self.vel = 0.9 * self.vel + 0.1 * a
        self.pos = self.pos + 0.1 * self.vel
        reward = -self.pos ** 2 - 0.1 * a ** 2
        self.t += 1
        done = self.t >= self.max_steps
        if done.any():
            self.pos[done] = self.rng.uniform(-1, 1, size=int(done.sum()))
            self.vel[done], self.t[done] = 0.0, 0
        return self.obs(), reward, done


class ReplayBuffer:
    """CleanRL's stable-baselines3 buffer, reduced: NumPy arrays, batches as tensors."""

    def __init__(self, size, obs_dim, act_dim, seed, act_dtype=np.float64):
        self.observations = np.zeros((size, obs_dim))
        self.next_observations = np.zeros((size, obs_dim))
        self.actions = np.zeros((size, act_dim), dtype=act_dtype)
        self.rewards = np.zeros((size, 1))
        self.dones = np.zeros((size, 1))
        self.pos, self.full, self.size = 0, False, size
        self.rng = np.random.default_rng(seed)

    def add(self, obs, next_obs, actions, rewards, dones):
        for i in range(len(obs)):
            self.observations[self.pos] = obs[i]
            self.next_observations[self.pos] = next_obs[i]
            self.actions[self.pos] = actions[i]
            self.rewards[self.pos] = rewards[i]
            self.dones[self.pos] = dones[i]
            self.pos = (self.pos + 1) % self.size
            self.full = self.full or self.pos == 0

    def sample(self, batch_size):
        inds = self.rng.integers(0, self.size if self.full else self.pos, size=batch_size)
        return ReplayBufferSamples(torch.as_tensor(self.observations[inds]), torch.from_numpy(self.actions[inds]),
                                   torch.as_tensor(self.next_observations[inds], dtype=torch.float64),
                                   torch.from_numpy(self.dones[inds]), torch.tensor(self.rewards[inds]))
'''

PROGRAMS: dict[str, str] = {}

# CleanRL ppo.py: orthogonal init, GAE in a reversed loop, normalised advantages, clipped
# surrogate and value loss, entropy bonus, shuffled minibatches, clip_grad_norm_, Adam
# (eps=1e-5) with its learning rate annealed through param_groups
PROGRAMS["ppo"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.distributions.categorical import Categorical

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, envs):
        super().__init__()
        obs_dim = np.array(envs.single_observation_space_shape).prod()
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 8)), nn.Tanh(),
            layer_init(nn.Linear(8, 8)), nn.Tanh(),
            layer_init(nn.Linear(8, 1), std=1.0),
        )
        self.actor = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 8)), nn.Tanh(),
            layer_init(nn.Linear(8, 8)), nn.Tanh(),
            layer_init(nn.Linear(8, envs.n_actions), std=0.01),
        )

    def get_value(self, x):
        return self.critic(x)

    def get_action_and_value(self, x, action=None):
        logits = self.actor(x)
        probs = Categorical(logits=logits)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(x)


def build():
    return Agent(CartPole(2, 0))


def data(rng):
    return int(rng.integers(1000))


def train(agent, seed):
    num_envs, num_steps, num_iterations, update_epochs, num_minibatches = 2, 8, 3, 2, 2
    learning_rate, gamma, gae_lambda, clip_coef, ent_coef, vf_coef = 2.5e-2, 0.99, 0.95, 0.2, 0.01, 0.5
    max_grad_norm, target_kl = 0.5, None
    batch_size = num_envs * num_steps
    minibatch_size = batch_size // num_minibatches
    np.random.seed(seed)
    envs = CartPole(num_envs, seed)
    optimizer = optim.Adam(agent.parameters(), lr=learning_rate, eps=1e-5)

    obs = torch.zeros((num_steps, num_envs) + envs.single_observation_space_shape)
    actions = torch.zeros((num_steps, num_envs))
    logprobs = torch.zeros((num_steps, num_envs))
    rewards = torch.zeros((num_steps, num_envs))
    dones = torch.zeros((num_steps, num_envs))
    values = torch.zeros((num_steps, num_envs))

    next_obs = torch.Tensor(envs.reset())
    next_done = torch.zeros(num_envs)
    out = []
    for iteration in range(1, num_iterations + 1):
        frac = 1.0 - (iteration - 1.0) / num_iterations
        lrnow = frac * learning_rate
        optimizer.param_groups[0]["lr"] = lrnow

        for step in range(0, num_steps):
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            next_obs, reward, terminations = envs.step(action.cpu().numpy())
            next_done = np.logical_or(terminations, np.zeros_like(terminations))
            rewards[step] = torch.tensor(reward).view(-1)
            next_obs, next_done = torch.Tensor(next_obs), torch.Tensor(next_done)

        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
            returns = advantages + values

        b_obs = obs.reshape((-1,) + envs.single_observation_space_shape)
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape((-1,))
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)

        b_inds = np.arange(batch_size)
        clipfracs = []
        for epoch in range(update_epochs):
            np.random.shuffle(b_inds)
            for start in range(0, batch_size, minibatch_size):
                end = start + minibatch_size
                mb_inds = b_inds[start:end]

                _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions.long()[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()

                with torch.no_grad():
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > clip_coef).float().mean().item()]

                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)

                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()

                newvalue = newvalue.view(-1)
                v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                v_clipped = b_values[mb_inds] + torch.clamp(newvalue - b_values[mb_inds], -clip_coef, clip_coef)
                v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                v_loss_max = torch.max(v_loss_unclipped, v_loss_clipped)
                v_loss = 0.5 * v_loss_max.mean()

                entropy_loss = entropy.mean()
                loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef

                optimizer.zero_grad()
                loss.backward()
                grad_norm = nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
                optimizer.step()

            if target_kl is not None and approx_kl > target_kl:
                break

        y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y
        out.append([v_loss.item(), pg_loss.item(), entropy_loss.item(), old_approx_kl.item(), approx_kl.item(),
                    np.mean(clipfracs), explained_var, grad_norm, optimizer.param_groups[0]["lr"]])
    out.append([actions, advantages])
    return out
'''

# CleanRL ppo_continuous_action.py: a state-independent log-std parameter, Normal
# policy with log-probs and entropies summed over the action dims, clipped actions
PROGRAMS["ppo_continuous"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.distributions.normal import Normal

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, envs):
        super().__init__()
        obs_dim = np.array(envs.single_observation_space_shape).prod()
        act_dim = np.prod(envs.single_action_space_shape)
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 8)), nn.Tanh(),
            layer_init(nn.Linear(8, 1), std=1.0),
        )
        self.actor_mean = nn.Sequential(
            layer_init(nn.Linear(obs_dim, 8)), nn.Tanh(),
            layer_init(nn.Linear(8, act_dim), std=0.01),
        )
        self.actor_logstd = nn.Parameter(torch.zeros(1, act_dim))

    def get_value(self, x):
        return self.critic(x)

    def get_action_and_value(self, x, action=None):
        action_mean = self.actor_mean(x)
        action_logstd = self.actor_logstd.expand_as(action_mean)
        action_std = torch.exp(action_logstd)
        probs = Normal(action_mean, action_std)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action).sum(1), probs.entropy().sum(1), self.critic(x)


def build():
    return Agent(PointMass(2, 0))


def data(rng):
    return int(rng.integers(1000))


def train(agent, seed):
    num_envs, num_steps, num_iterations, update_epochs, num_minibatches = 2, 6, 2, 2, 2
    learning_rate, gamma, gae_lambda, clip_coef, ent_coef, vf_coef, max_grad_norm = 3e-2, 0.99, 0.95, 0.2, 0.0, 0.5, 0.5
    batch_size = num_envs * num_steps
    minibatch_size = batch_size // num_minibatches
    envs = PointMass(num_envs, seed)
    optimizer = optim.Adam(agent.parameters(), lr=learning_rate, eps=1e-5)
    obs = torch.zeros((num_steps, num_envs) + envs.single_observation_space_shape)
    actions = torch.zeros((num_steps, num_envs) + envs.single_action_space_shape)
    logprobs = torch.zeros((num_steps, num_envs))
    rewards = torch.zeros((num_steps, num_envs))
    dones = torch.zeros((num_steps, num_envs))
    values = torch.zeros((num_steps, num_envs))
    next_obs = torch.Tensor(envs.reset())
    next_done = torch.zeros(num_envs)
    out = []
    for iteration in range(1, num_iterations + 1):
        frac = 1.0 - (iteration - 1.0) / num_iterations
        optimizer.param_groups[0]["lr"] = frac * learning_rate
        for step in range(0, num_steps):
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            next_obs, reward, next_done = envs.step(np.clip(action.cpu().numpy(), envs.low, envs.high))
            rewards[step] = torch.tensor(reward).view(-1)
            next_obs, next_done = torch.Tensor(next_obs), torch.Tensor(next_done)
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
            returns = advantages + values
        b_obs = obs.reshape((-1,) + envs.single_observation_space_shape)
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape((-1,) + envs.single_action_space_shape)
        b_advantages, b_returns, b_values = advantages.reshape(-1), returns.reshape(-1), values.reshape(-1)
        for epoch in range(update_epochs):
            b_inds = torch.randperm(batch_size)
            for start in range(0, batch_size, minibatch_size):
                mb_inds = b_inds[start:start + minibatch_size]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
                pg_loss = torch.max(-mb_advantages * ratio,
                                    -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)).mean()
                newvalue = newvalue.view(-1)
                v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                v_clipped = b_values[mb_inds] + torch.clamp(newvalue - b_values[mb_inds], -clip_coef, clip_coef)
                v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                v_loss = 0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
                optimizer.step()
        out.append([v_loss.item(), pg_loss.item(), entropy_loss.item()])
    out.append([actions, advantages])
    return out
'''

# CleanRL sac_continuous_action.py: tanh-squashed Normal by rsample with the log-prob
# correction, twin Q networks, polyak-averaged targets (in place on .data, by copy_ under
# no_grad, by lerp_), automatic entropy tuning through a log_alpha leaf
PROGRAMS["sac"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from collections import namedtuple

torch.set_default_dtype(torch.float64)
ReplayBufferSamples = namedtuple("ReplayBufferSamples", "observations actions next_observations dones rewards")
''' + ENVS + '''
LOG_STD_MAX = 2
LOG_STD_MIN = -5


class SoftQNetwork(nn.Module):
    def __init__(self, env):
        super().__init__()
        self.fc1 = nn.Linear(np.array(env.single_observation_space_shape).prod()
                             + np.prod(env.single_action_space_shape), 8)
        self.fc2 = nn.Linear(8, 8)
        self.fc3 = nn.Linear(8, 1)

    def forward(self, x, a):
        x = torch.cat([x, a], 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


class Actor(nn.Module):
    def __init__(self, env):
        super().__init__()
        self.fc1 = nn.Linear(np.array(env.single_observation_space_shape).prod(), 8)
        self.fc2 = nn.Linear(8, 8)
        self.fc_mean = nn.Linear(8, np.prod(env.single_action_space_shape))
        self.fc_logstd = nn.Linear(8, np.prod(env.single_action_space_shape))
        self.register_buffer("action_scale", torch.tensor((env.high - env.low) / 2.0, dtype=torch.float32))
        self.register_buffer("action_bias", torch.tensor((env.high + env.low) / 2.0, dtype=torch.float32))

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        mean = self.fc_mean(x)
        log_std = self.fc_logstd(x)
        log_std = torch.tanh(log_std)
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1)
        return mean, log_std

    def get_action(self, x):
        mean, log_std = self(x)
        std = log_std.exp()
        normal = torch.distributions.Normal(mean, std)
        x_t = normal.rsample()
        y_t = torch.tanh(x_t)
        action = y_t * self.action_scale + self.action_bias
        log_prob = normal.log_prob(x_t)
        log_prob -= torch.log(self.action_scale * (1 - y_t.pow(2)) + 1e-6)
        log_prob = log_prob.sum(1, keepdim=True)
        mean = torch.tanh(mean) * self.action_scale + self.action_bias
        return action, log_prob, mean


def build():
    env = PointMass(2, 0)
    nets = nn.ModuleDict(dict(actor=Actor(env), qf1=SoftQNetwork(env), qf2=SoftQNetwork(env),
                              qf1_target=SoftQNetwork(env), qf2_target=SoftQNetwork(env)))
    nets["qf1_target"].load_state_dict(nets["qf1"].state_dict())
    nets["qf2_target"].load_state_dict(nets["qf2"].state_dict())
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    actor, qf1, qf2, qf1_target, qf2_target = (nets[k] for k in ("actor", "qf1", "qf2", "qf1_target", "qf2_target"))
    total_timesteps, learning_starts, batch_size, gamma, tau = 10, 3, 4, 0.99, 0.1
    policy_frequency, target_network_frequency, policy_lr, q_lr = 2, 1, 3e-3, 1e-2
    envs = PointMass(2, seed)
    q_optimizer = optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=q_lr)
    actor_optimizer = optim.Adam(list(actor.parameters()), lr=policy_lr)
    target_entropy = -torch.prod(torch.Tensor(envs.single_action_space_shape)).item()
    log_alpha = torch.zeros(1, requires_grad=True)
    alpha = log_alpha.exp().item()
    a_optimizer = optim.Adam([log_alpha], lr=q_lr)
    rb = ReplayBuffer(32, 3, 1, seed)
    obs = envs.reset()
    out = []
    for global_step in range(total_timesteps):
        if global_step < learning_starts:
            actions = envs.sample_action()
        else:
            actions, _, _ = actor.get_action(torch.Tensor(obs))
            actions = actions.detach().cpu().numpy()
        next_obs, rewards, terminations = envs.step(actions)
        rb.add(obs, next_obs, actions, rewards, terminations)
        obs = next_obs
        if global_step > learning_starts:
            data = rb.sample(batch_size)
            with torch.no_grad():
                next_state_actions, next_state_log_pi, _ = actor.get_action(data.next_observations)
                qf1_next_target = qf1_target(data.next_observations, next_state_actions)
                qf2_next_target = qf2_target(data.next_observations, next_state_actions)
                min_qf_next_target = torch.min(qf1_next_target, qf2_next_target) - alpha * next_state_log_pi
                next_q_value = data.rewards.flatten() + (1 - data.dones.flatten()) * gamma * min_qf_next_target.view(-1)
            qf1_a_values = qf1(data.observations, data.actions).view(-1)
            qf2_a_values = qf2(data.observations, data.actions).view(-1)
            qf1_loss = F.mse_loss(qf1_a_values, next_q_value)
            qf2_loss = F.mse_loss(qf2_a_values, next_q_value)
            qf_loss = qf1_loss + qf2_loss
            q_optimizer.zero_grad()
            qf_loss.backward()
            q_optimizer.step()
            if global_step % policy_frequency == 0:
                for _ in range(policy_frequency):
                    pi, log_pi, _ = actor.get_action(data.observations)
                    qf1_pi = qf1(data.observations, pi)
                    qf2_pi = qf2(data.observations, pi)
                    min_qf_pi = torch.min(qf1_pi, qf2_pi)
                    actor_loss = ((alpha * log_pi) - min_qf_pi).mean()
                    actor_optimizer.zero_grad()
                    actor_loss.backward()
                    actor_optimizer.step()
                    with torch.no_grad():
                        _, log_pi, _ = actor.get_action(data.observations)
                    alpha_loss = (-log_alpha.exp() * (log_pi + target_entropy)).mean()
                    a_optimizer.zero_grad()
                    alpha_loss.backward()
                    a_optimizer.step()
                    alpha = log_alpha.exp().item()
                out.append([actor_loss.item(), alpha_loss.item(), alpha])
            if global_step % target_network_frequency == 0:
                for param, target_param in zip(qf1.parameters(), qf1_target.parameters()):
                    target_param.data.mul_(1 - tau)
                    target_param.data.add_(tau * param.data)
                with torch.no_grad():
                    for param, target_param in zip(qf2.parameters(), qf2_target.parameters()):
                        if param.ndim == 2:
                            target_param.copy_(tau * param + (1 - tau) * target_param)
                        else:
                            target_param.lerp_(param, tau)
            out.append([qf1_loss.item(), qf2_loss.item(), qf1_a_values, next_q_value])
    out.append([log_alpha, actor.get_action(torch.Tensor(obs))[2]])
    return out
'''

# a TanhNormal policy as CORL's CQL/IQL write it (TransformedDistribution of a Normal by
# TanhTransform(cache_size=1), Independent over the action dims), with SAC's losses, the
# target networks updated through their state_dicts
PROGRAMS["sac_tanh_normal"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from collections import namedtuple
from copy import deepcopy
from torch.distributions import Independent, Normal, TanhTransform, TransformedDistribution

torch.set_default_dtype(torch.float64)
ReplayBufferSamples = namedtuple("ReplayBufferSamples", "observations actions next_observations dones rewards")
''' + ENVS + '''

class TanhGaussianPolicy(nn.Module):
    def __init__(self, state_dim, action_dim, max_action, log_std_min=-20.0, log_std_max=2.0):
        super().__init__()
        self.base_network = nn.Sequential(nn.Linear(state_dim, 8), nn.ReLU(), nn.Linear(8, 2 * action_dim))
        self.max_action, self.log_std_min, self.log_std_max = max_action, log_std_min, log_std_max

    def forward(self, observations, deterministic=False):
        base_network_output = self.base_network(observations)
        mean, log_std = torch.split(base_network_output, base_network_output.shape[-1] // 2, dim=-1)
        log_std = torch.clamp(log_std, self.log_std_min, self.log_std_max)
        action_distribution = Independent(
            TransformedDistribution(Normal(mean, torch.exp(log_std)), TanhTransform(cache_size=1)), 1)
        if deterministic:
            action_sample = torch.tanh(mean)
        else:
            action_sample = action_distribution.rsample()
        log_prob = action_distribution.log_prob(action_sample)
        return self.max_action * action_sample, log_prob


class FullyConnectedQFunction(nn.Module):
    def __init__(self, observation_dim, action_dim):
        super().__init__()
        self.network = nn.Sequential(nn.Linear(observation_dim + action_dim, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, observations, actions):
        input_tensor = torch.cat([observations, actions], dim=-1)
        return torch.squeeze(self.network(input_tensor), dim=-1)


class Scalar(nn.Module):
    def __init__(self, init_value):
        super().__init__()
        self.constant = nn.Parameter(torch.tensor(init_value, dtype=torch.float64))

    def forward(self):
        return self.constant


def soft_update(target, source, tau):
    for target_param, source_param in zip(target.parameters(), source.parameters()):
        target_param.data.copy_((1 - tau) * target_param.data + tau * source_param.data)


def build():
    nets = nn.ModuleDict(dict(actor=TanhGaussianPolicy(3, 1, 1.0), critic_1=FullyConnectedQFunction(3, 1),
                              critic_2=FullyConnectedQFunction(3, 1), log_alpha=Scalar(0.0)))
    nets["target_critic_1"] = deepcopy(nets["critic_1"])
    nets["target_critic_2"] = deepcopy(nets["critic_2"])
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    actor, critic_1, critic_2, log_alpha = nets["actor"], nets["critic_1"], nets["critic_2"], nets["log_alpha"]
    target_1, target_2 = nets["target_critic_1"], nets["target_critic_2"]
    envs = PointMass(3, seed)
    rb = ReplayBuffer(16, 3, 1, seed)
    obs = envs.reset()
    for _ in range(4):
        actions = envs.sample_action()
        next_obs, rewards, dones = envs.step(actions)
        rb.add(obs, next_obs, actions, rewards, dones)
        obs = next_obs
    actor_optimizer = torch.optim.Adam(actor.parameters(), 3e-3)
    critic_optimizer = torch.optim.Adam(list(critic_1.parameters()) + list(critic_2.parameters()), 3e-3)
    alpha_optimizer = torch.optim.Adam(log_alpha.parameters(), lr=3e-3)
    target_entropy = -np.prod(envs.single_action_space_shape).item()
    out = []
    for step in range(3):
        observations, actions, next_observations, dones, rewards = rb.sample(6)
        rewards, dones = rewards.squeeze(-1), dones.squeeze(-1)
        new_actions, log_pi = actor(observations)
        alpha_loss = -(log_alpha() * (log_pi + target_entropy).detach()).mean()
        alpha = log_alpha().exp() * 1.0
        q_new_actions = torch.min(critic_1(observations, new_actions), critic_2(observations, new_actions))
        policy_loss = (alpha * log_pi - q_new_actions).mean()
        q1_predicted = critic_1(observations, actions)
        q2_predicted = critic_2(observations, actions)
        with torch.no_grad():
            new_next_actions, next_log_pi = actor(next_observations)
            target_q_values = torch.min(target_1(next_observations, new_next_actions),
                                        target_2(next_observations, new_next_actions))
            target_q_values = target_q_values - alpha * next_log_pi
            td_target = rewards + (1.0 - dones) * 0.99 * target_q_values
        qf_loss = F.mse_loss(q1_predicted, td_target.detach()) + F.mse_loss(q2_predicted, td_target.detach())
        alpha_optimizer.zero_grad()
        alpha_loss.backward()
        alpha_optimizer.step()
        actor_optimizer.zero_grad()
        policy_loss.backward()
        actor_optimizer.step()
        critic_optimizer.zero_grad()
        qf_loss.backward()
        critic_optimizer.step()
        soft_update(target_1, critic_1, 0.05)
        soft_update(target_2, critic_2, 0.05)
        out.append([alpha_loss, policy_loss, qf_loss, log_pi, new_actions])
    with torch.no_grad():
        out.append(actor(torch.as_tensor(obs), deterministic=True))
    return out
'''

# CleanRL dqn.py: epsilon-greedy by argmax, a NumPy replay buffer, the TD target by max over
# the target network, gather along the actions, the target network by polyak on .data
PROGRAMS["dqn"] = '''
import random
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from collections import namedtuple

torch.set_default_dtype(torch.float64)
ReplayBufferSamples = namedtuple("ReplayBufferSamples", "observations actions next_observations dones rewards")
''' + ENVS + '''

class QNetwork(nn.Module):
    def __init__(self, env):
        super().__init__()
        self.network = nn.Sequential(
            nn.Linear(np.array(env.single_observation_space_shape).prod(), 8), nn.ReLU(),
            nn.Linear(8, 8), nn.ReLU(),
            nn.Linear(8, env.n_actions),
        )

    def forward(self, x):
        return self.network(x)


def linear_schedule(start_e, end_e, duration, t):
    slope = (end_e - start_e) / duration
    return max(slope * t + start_e, end_e)


def build():
    envs = CartPole(2, 0)
    nets = nn.ModuleDict(dict(q_network=QNetwork(envs), target_network=QNetwork(envs)))
    nets["target_network"].load_state_dict(nets["q_network"].state_dict())
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    q_network, target_network = nets["q_network"], nets["target_network"]
    random.seed(seed)
    envs = CartPole(2, seed)
    optimizer = optim.Adam(q_network.parameters(), lr=1e-2)
    rb = ReplayBuffer(32, 4, 1, seed, act_dtype=np.int64)
    total_timesteps, learning_starts, train_frequency, target_network_frequency = 14, 3, 2, 4
    gamma, tau = 0.99, 0.5
    obs = envs.reset()
    out = []
    for global_step in range(total_timesteps):
        epsilon = linear_schedule(1.0, 0.05, 0.5 * total_timesteps, global_step)
        if random.random() < epsilon:
            actions = np.array([random.randrange(envs.n_actions) for _ in range(envs.num_envs)])
        else:
            q_values = q_network(torch.Tensor(obs))
            actions = torch.argmax(q_values, dim=1).cpu().numpy()
        next_obs, rewards, terminations = envs.step(actions)
        rb.add(obs, next_obs, actions, rewards, terminations)
        obs = next_obs
        if global_step > learning_starts:
            if global_step % train_frequency == 0:
                data = rb.sample(5)
                with torch.no_grad():
                    target_max, _ = target_network(data.next_observations).max(dim=1)
                    td_target = data.rewards.flatten() + gamma * target_max * (1 - data.dones.flatten())
                old_val = q_network(data.observations).gather(1, data.actions).squeeze()
                loss = F.mse_loss(td_target, old_val)
                out.append([loss.item(), old_val.mean().item(), actions])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            if global_step % target_network_frequency == 0:
                for target_network_param, q_network_param in zip(target_network.parameters(), q_network.parameters()):
                    target_network_param.data.copy_(
                        tau * q_network_param.data + (1.0 - tau) * target_network_param.data
                    )
    return out
'''

# PyTorch's DQN tutorial (reinforcement_q_learning.py) with Double DQN's target: Transition
# namedtuples in a deque, non-final masks, SmoothL1Loss and huber_loss, clip_grad_value_,
# AdamW(amsgrad=True), the target's state_dict blended key by key and loaded back
PROGRAMS["dqn_tutorial"] = '''
import math
import random
from collections import deque, namedtuple
from itertools import count

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.set_default_dtype(torch.float64)
''' + ENVS + '''
Transition = namedtuple('Transition', ('state', 'action', 'next_state', 'reward'))


class ReplayMemory(object):
    def __init__(self, capacity):
        self.memory = deque([], maxlen=capacity)

    def push(self, *args):
        self.memory.append(Transition(*args))

    def sample(self, batch_size):
        return random.sample(self.memory, batch_size)

    def __len__(self):
        return len(self.memory)


class DQN(nn.Module):
    def __init__(self, n_observations, n_actions):
        super(DQN, self).__init__()
        self.layer1 = nn.Linear(n_observations, 8)
        self.layer2 = nn.Linear(8, 8)
        self.layer3 = nn.Linear(8, n_actions)

    def forward(self, x):
        x = F.relu(self.layer1(x))
        x = F.relu(self.layer2(x))
        return self.layer3(x)


def build():
    nets = nn.ModuleDict(dict(policy_net=DQN(4, 2), target_net=DQN(4, 2)))
    nets["target_net"].load_state_dict(nets["policy_net"].state_dict())
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    BATCH_SIZE, GAMMA, EPS_START, EPS_END, EPS_DECAY, TAU, LR = 4, 0.99, 0.9, 0.05, 10, 0.05, 1e-2
    policy_net, target_net = nets["policy_net"], nets["target_net"]
    optimizer = optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
    memory = ReplayMemory(100)
    random.seed(seed)
    env = CartPole(1, seed, max_steps=4)
    steps_done = 0
    out = []

    def select_action(state):
        nonlocal steps_done
        sample = random.random()
        eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1. * steps_done / EPS_DECAY)
        steps_done += 1
        if sample > eps_threshold:
            with torch.no_grad():
                return policy_net(state).max(1).indices.view(1, 1)
        return torch.tensor([[random.randrange(2)]], dtype=torch.long)

    def optimize_model(loss_fn):
        if len(memory) < BATCH_SIZE:
            return
        transitions = memory.sample(BATCH_SIZE)
        batch = Transition(*zip(*transitions))
        non_final_mask = torch.tensor(tuple(map(lambda s: s is not None, batch.next_state)), dtype=torch.bool)
        non_final_next_states = torch.cat([s for s in batch.next_state if s is not None])
        state_batch = torch.cat(batch.state)
        action_batch = torch.cat(batch.action)
        reward_batch = torch.cat(batch.reward)
        state_action_values = policy_net(state_batch).gather(1, action_batch)
        next_state_values = torch.zeros(BATCH_SIZE)
        with torch.no_grad():
            best = policy_net(non_final_next_states).argmax(dim=1, keepdim=True)
            next_state_values[non_final_mask] = target_net(non_final_next_states).gather(1, best).squeeze(1)
        expected_state_action_values = (next_state_values * GAMMA) + reward_batch
        loss = loss_fn(state_action_values, expected_state_action_values.unsqueeze(1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        out.append(loss)

    for i_episode in range(3):
        state = torch.tensor(env.reset(), dtype=torch.float64)
        for t in count():
            action = select_action(state)
            observation, reward, done = env.step(action.item())
            reward = torch.tensor([reward.item()])
            next_state = None if done[0] else torch.tensor(observation, dtype=torch.float64)
            memory.push(state, action, next_state, reward)
            state = next_state
            optimize_model(nn.SmoothL1Loss() if i_episode % 2 else (lambda a, b: F.huber_loss(a, b, delta=0.5)))
            target_net_state_dict = target_net.state_dict()
            policy_net_state_dict = policy_net.state_dict()
            for key in policy_net_state_dict:
                target_net_state_dict[key] = policy_net_state_dict[key] * TAU + target_net_state_dict[key] * (1 - TAU)
            target_net.load_state_dict(target_net_state_dict)
            if done[0]:
                out.append(t + 1)
                break
    return out
'''

# CleanRL td3_continuous_action.py: exploration by torch.normal, target policy smoothing
# with clamped noise, twin critics, delayed policy updates, targets by lerp_ and by
# Stable Baselines3's polyak_update (torch.add(..., alpha=tau, out=...))
PROGRAMS["td3"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from collections import namedtuple

torch.set_default_dtype(torch.float64)
ReplayBufferSamples = namedtuple("ReplayBufferSamples", "observations actions next_observations dones rewards")
''' + ENVS + '''

class QNetwork(nn.Module):
    def __init__(self, env):
        super().__init__()
        self.fc1 = nn.Linear(np.array(env.single_observation_space_shape).prod()
                             + np.prod(env.single_action_space_shape), 8)
        self.fc2 = nn.Linear(8, 1)

    def forward(self, x, a):
        x = torch.cat([x, a], 1)
        return self.fc2(F.relu(self.fc1(x)))


class Actor(nn.Module):
    def __init__(self, env):
        super().__init__()
        self.fc1 = nn.Linear(np.array(env.single_observation_space_shape).prod(), 8)
        self.fc_mu = nn.Linear(8, np.prod(env.single_action_space_shape))
        self.register_buffer("action_scale", torch.tensor((env.high - env.low) / 2.0, dtype=torch.float64))
        self.register_buffer("action_bias", torch.tensor((env.high + env.low) / 2.0, dtype=torch.float64))

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = torch.tanh(self.fc_mu(x))
        return x * self.action_scale + self.action_bias


def polyak_update(params, target_params, tau):
    # Stable Baselines3's
    with torch.no_grad():
        for param, target_param in zip(params, target_params, strict=True):
            target_param.data.mul_(1 - tau)
            torch.add(target_param.data, param.data, alpha=tau, out=target_param.data)


def build():
    env = PointMass(2, 0)
    nets = nn.ModuleDict(dict(actor=Actor(env), qf1=QNetwork(env), qf2=QNetwork(env)))
    for k in ("actor", "qf1", "qf2"):
        nets["target_" + k] = type(nets[k])(env)
        nets["target_" + k].load_state_dict(nets[k].state_dict())
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    actor, qf1, qf2 = nets["actor"], nets["qf1"], nets["qf2"]
    target_actor, qf1_target, qf2_target = nets["target_actor"], nets["target_qf1"], nets["target_qf2"]
    envs = PointMass(2, seed)
    q_optimizer = optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=1e-2)
    actor_optimizer = optim.Adam(list(actor.parameters()), lr=1e-2)
    rb = ReplayBuffer(32, 3, 1, seed)
    total_timesteps, learning_starts, exploration_noise, policy_noise, noise_clip = 9, 2, 0.1, 0.2, 0.5
    gamma, tau, policy_frequency = 0.99, 0.1, 2
    obs = envs.reset()
    out = []
    for global_step in range(total_timesteps):
        if global_step < learning_starts:
            actions = envs.sample_action()
        else:
            with torch.no_grad():
                actions = actor(torch.Tensor(obs))
                actions += torch.normal(0, actor.action_scale * exploration_noise)
                actions = actions.cpu().numpy().clip(envs.low, envs.high)
        next_obs, rewards, terminations = envs.step(actions)
        rb.add(obs, next_obs, actions, rewards, terminations)
        obs = next_obs
        if global_step > learning_starts:
            data = rb.sample(4)
            with torch.no_grad():
                clipped_noise = (torch.randn_like(data.actions) * policy_noise).clamp(
                    -noise_clip, noise_clip
                ) * target_actor.action_scale
                next_state_actions = (target_actor(data.next_observations) + clipped_noise).clamp(envs.low, envs.high)
                qf1_next_target = qf1_target(data.next_observations, next_state_actions)
                qf2_next_target = qf2_target(data.next_observations, next_state_actions)
                min_qf_next_target = torch.min(qf1_next_target, qf2_next_target)
                next_q_value = data.rewards.flatten() + (1 - data.dones.flatten()) * gamma * min_qf_next_target.view(-1)
            qf1_a_values = qf1(data.observations, data.actions).view(-1)
            qf2_a_values = qf2(data.observations, data.actions).view(-1)
            qf1_loss = F.mse_loss(qf1_a_values, next_q_value)
            qf2_loss = F.mse_loss(qf2_a_values, next_q_value)
            qf_loss = qf1_loss + qf2_loss
            q_optimizer.zero_grad()
            qf_loss.backward()
            q_optimizer.step()
            if global_step % policy_frequency == 0:
                actor_loss = -qf1(data.observations, actor(data.observations)).mean()
                actor_optimizer.zero_grad()
                actor_loss.backward()
                actor_optimizer.step()
                for param, target_param in zip(actor.parameters(), target_actor.parameters()):
                    target_param.data.lerp_(param.data, tau)
                polyak_update(list(qf1.parameters()) + list(qf2.parameters()),
                              list(qf1_target.parameters()) + list(qf2_target.parameters()), tau)
                out.append(actor_loss.item())
            out.append([qf1_loss.item(), qf2_loss.item(), next_q_value])
    return out
'''

# pytorch/examples reinforcement_learning/reinforce.py: Categorical over softmax probs,
# saved log-probs, discounted returns built by insert(0, ...), torch.tensor of the list
PROGRAMS["reinforce"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(4, 16)
        self.dropout = nn.Dropout(p=0.0)
        self.affine2 = nn.Linear(16, 2)
        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


def build():
    return Policy()


def data(rng):
    return int(rng.integers(1000))


def train(policy, seed):
    gamma = 0.99
    optimizer = optim.Adam(policy.parameters(), lr=1e-2)
    eps = np.finfo(np.float32).eps.item()
    env = CartPole(1, seed, max_steps=6)

    def select_action(state):
        state = torch.from_numpy(state).unsqueeze(0)
        probs = policy(state)
        m = Categorical(probs)
        action = m.sample()
        policy.saved_log_probs.append(m.log_prob(action))
        return action.item()

    def finish_episode():
        R = 0
        policy_loss = []
        returns = []
        for r in policy.rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for log_prob, R in zip(policy.saved_log_probs, returns):
            policy_loss.append(-log_prob * R)
        optimizer.zero_grad()
        policy_loss = torch.cat(policy_loss).sum()
        policy_loss.backward()
        optimizer.step()
        del policy.rewards[:]
        del policy.saved_log_probs[:]
        return policy_loss

    out = []
    for i_episode in range(3):
        state, ep_reward = env.reset()[0], 0
        for t in range(1, 100):
            action = select_action(state)
            state, reward, done = env.step([action])
            state, reward = state[0], reward[0] * (1 + t % 3)
            policy.rewards.append(reward)
            ep_reward += reward
            if done[0]:
                break
        out.append([finish_episode(), ep_reward])
    return out
'''

# pytorch/examples reinforcement_learning/actor_critic.py: SavedAction namedtuples,
# advantages from value.item(), smooth_l1_loss against torch.tensor([R]), torch.stack
PROGRAMS["actor_critic"] = '''
from collections import namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

torch.set_default_dtype(torch.float64)
''' + ENVS + '''
SavedAction = namedtuple('SavedAction', ['log_prob', 'value'])


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(4, 16)
        self.action_head = nn.Linear(16, 2)
        self.value_head = nn.Linear(16, 1)
        self.saved_actions = []
        self.rewards = []

    def forward(self, x):
        x = F.relu(self.affine1(x))
        action_prob = F.softmax(self.action_head(x), dim=-1)
        state_values = self.value_head(x)
        return action_prob, state_values


def build():
    return Policy()


def data(rng):
    return int(rng.integers(1000))


def train(model, seed):
    gamma = 0.99
    optimizer = optim.Adam(model.parameters(), lr=3e-2)
    eps = np.finfo(np.float32).eps.item()
    env = CartPole(1, seed, max_steps=5)

    def select_action(state):
        state = torch.from_numpy(state)
        probs, state_value = model(state)
        m = Categorical(probs)
        action = m.sample()
        model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
        return action.item()

    def finish_episode():
        R = 0
        saved_actions = model.saved_actions
        policy_losses = []
        value_losses = []
        returns = []
        for r in model.rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for (log_prob, value), R in zip(saved_actions, returns):
            advantage = R - value.item()
            policy_losses.append(-log_prob * advantage)
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))
        optimizer.zero_grad()
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
        loss.backward()
        optimizer.step()
        del model.rewards[:]
        del model.saved_actions[:]
        return loss

    out = []
    for i_episode in range(3):
        state = env.reset()[0]
        for t in range(1, 100):
            action = select_action(state)
            state, reward, done = env.step([action])
            state = state[0]
            model.rewards.append(float(reward[0]) * (1 + t % 2))
            if done[0]:
                break
        out.append(finish_episode())
    return out
'''

# an n-step A2C over a few environments with continuous actions (ikostrikov's
# pytorch-a2c-ppo-acktr style): Independent(Normal) policy, returns by a reversed loop,
# RMSprop(eps=1e-5, alpha=0.99), clip_grad_norm_
PROGRAMS["a2c"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.distributions import Independent, Normal

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

class ActorCritic(nn.Module):
    def __init__(self, obs_dim, act_dim):
        super().__init__()
        self.base = nn.Sequential(nn.Linear(obs_dim, 8), nn.Tanh())
        self.mu = nn.Linear(8, act_dim)
        self.logstd = nn.Parameter(torch.zeros(act_dim))
        self.v = nn.Linear(8, 1)

    def forward(self, x):
        h = self.base(x)
        return Independent(Normal(self.mu(h), self.logstd.exp()), 1), self.v(h).squeeze(-1)


def build():
    return ActorCritic(3, 1)


def data(rng):
    return int(rng.integers(1000))


def train(model, seed):
    num_envs, num_steps, gamma = 3, 4, 0.9
    envs = PointMass(num_envs, seed, max_steps=3)
    optimizer = optim.RMSprop(model.parameters(), lr=7e-3, eps=1e-5, alpha=0.99)
    obs = torch.as_tensor(envs.reset())
    out = []
    for update in range(3):
        log_probs, values, rewards, masks, entropies = [], [], [], [], []
        for step in range(num_steps):
            dist, value = model(obs)
            action = dist.sample()
            next_obs, reward, done = envs.step(action.numpy())
            log_probs.append(dist.log_prob(action))
            entropies.append(dist.entropy())
            values.append(value)
            rewards.append(torch.as_tensor(reward))
            masks.append(torch.from_numpy(1.0 - done))
            obs = torch.as_tensor(next_obs)
        with torch.no_grad():
            _, next_value = model(obs)
        R = next_value
        returns = []
        for step in reversed(range(num_steps)):
            R = rewards[step] + gamma * R * masks[step]
            returns.insert(0, R)
        returns = torch.stack(returns)
        values = torch.stack(values)
        log_probs = torch.stack(log_probs)
        advantages = returns - values
        value_loss = advantages.pow(2).mean()
        action_loss = -(advantages.detach() * log_probs).mean()
        dist_entropy = torch.stack(entropies).mean()
        optimizer.zero_grad()
        (value_loss * 0.5 + action_loss - dist_entropy * 0.01).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        out.append([value_loss, action_loss, dist_entropy])
    return out
'''


# ikostrikov/pytorch-trpo: the natural gradient by conjugate gradients on Fisher-vector
# products (double backward of the KL, here kl_divergence of Independent Normals), flat
# parameters in and out, a backtracking line search, Variable; the value net by LBFGS
PROGRAMS["trpo"] = '''
import numpy as np
import torch
import torch.nn as nn
from torch.autograd import Variable
from torch.distributions import Independent, Normal, kl_divergence

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

class Policy(nn.Module):
    def __init__(self, num_inputs, num_outputs):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(num_inputs, 8)
        self.action_mean = nn.Linear(8, num_outputs)
        self.action_mean.weight.data.mul_(0.1)
        self.action_mean.bias.data.mul_(0.0)
        self.action_log_std = nn.Parameter(torch.zeros(1, num_outputs))

    def forward(self, x):
        x = torch.tanh(self.affine1(x))
        action_mean = self.action_mean(x)
        action_log_std = self.action_log_std.expand_as(action_mean)
        action_std = torch.exp(action_log_std)
        return action_mean, action_log_std, action_std


class Value(nn.Module):
    def __init__(self, num_inputs):
        super(Value, self).__init__()
        self.affine1 = nn.Linear(num_inputs, 8)
        self.value_head = nn.Linear(8, 1)
        self.value_head.weight.data.mul_(0.1)
        self.value_head.bias.data.mul_(0.0)

    def forward(self, x):
        return self.value_head(torch.tanh(self.affine1(x)))


def get_flat_params_from(model):
    return torch.cat([param.data.view(-1) for param in model.parameters()])


def set_flat_params_to(model, flat_params):
    prev_ind = 0
    for param in model.parameters():
        flat_size = int(np.prod(list(param.size())))
        param.data.copy_(flat_params[prev_ind:prev_ind + flat_size].view(param.size()))
        prev_ind += flat_size


def normal_log_density(x, mean, log_std, std):
    var = std.pow(2)
    log_density = -(x - mean).pow(2) / (2 * var) - 0.5 * np.log(2 * np.pi) - log_std
    return log_density.sum(1, keepdim=True)


def conjugate_gradients(Avp, b, nsteps, residual_tol=1e-10):
    x = torch.zeros(b.size())
    r = b.clone()
    p = b.clone()
    rdotr = torch.dot(r, r)
    for i in range(nsteps):
        _Avp = Avp(p)
        alpha = rdotr / torch.dot(p, _Avp)
        x += alpha * p
        r -= alpha * _Avp
        new_rdotr = torch.dot(r, r)
        betta = new_rdotr / rdotr
        p = r + betta * p
        rdotr = new_rdotr
        if rdotr < residual_tol:
            break
    return x


def linesearch(model, f, x, fullstep, expected_improve_rate, max_backtracks=10, accept_ratio=.1):
    fval = f(True).data
    for (_n_backtracks, stepfrac) in enumerate(.5 ** np.arange(max_backtracks)):
        xnew = x + stepfrac * fullstep
        set_flat_params_to(model, xnew)
        newfval = f(True).data
        actual_improve = fval - newfval
        expected_improve = expected_improve_rate * stepfrac
        ratio = actual_improve / expected_improve
        if ratio.item() > accept_ratio and actual_improve.item() > 0:
            return True, xnew
    return False, x


def trpo_step(model, get_loss, get_kl, max_kl, damping):
    loss = get_loss()
    grads = torch.autograd.grad(loss, model.parameters())
    loss_grad = torch.cat([grad.view(-1) for grad in grads]).data

    def Fvp(v):
        kl = get_kl()
        kl = kl.mean()
        grads = torch.autograd.grad(kl, model.parameters(), create_graph=True)
        flat_grad_kl = torch.cat([grad.view(-1) for grad in grads])
        kl_v = (flat_grad_kl * Variable(v)).sum()
        grads = torch.autograd.grad(kl_v, model.parameters())
        flat_grad_grad_kl = torch.cat([grad.contiguous().view(-1) for grad in grads]).data
        return flat_grad_grad_kl + v * damping

    stepdir = conjugate_gradients(Fvp, -loss_grad, 4)
    shs = 0.5 * (stepdir * Fvp(stepdir)).sum(0, keepdim=True)
    lm = torch.sqrt(shs / max_kl)
    fullstep = stepdir / lm[0]
    neggdotstepdir = (-loss_grad * stepdir).sum(0, keepdim=True)
    prev_params = get_flat_params_from(model)
    success, new_params = linesearch(model, get_loss, prev_params, fullstep, neggdotstepdir / lm[0])
    set_flat_params_to(model, new_params)
    return loss, success, stepdir


def build():
    return nn.ModuleDict(dict(policy_net=Policy(3, 1), value_net=Value(3)))


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    policy_net, value_net = nets["policy_net"], nets["value_net"]
    gamma, tau, max_kl, damping = 0.995, 0.97, 1e-2, 1e-1
    env = PointMass(2, seed, max_steps=3)
    out = []
    for i_episode in range(2):
        states, actions, rewards, masks = [], [], [], []
        state = env.reset()
        for t in range(6):
            action_mean, _, action_std = policy_net(Variable(torch.from_numpy(state)))
            action = torch.normal(action_mean, action_std).data
            next_state, reward, done = env.step(action.numpy())
            states.append(state)
            actions.append(action.numpy())
            rewards.append(reward)
            masks.append(1 - done)
            state = next_state
        states = torch.Tensor(np.concatenate(states))
        actions = torch.Tensor(np.concatenate(actions))
        rewards = torch.Tensor(np.concatenate(rewards))
        masks = torch.Tensor(np.concatenate(masks))
        values = value_net(Variable(states))

        returns = torch.Tensor(actions.size(0), 1)
        deltas = torch.Tensor(actions.size(0), 1)
        advantages = torch.Tensor(actions.size(0), 1)
        prev_return, prev_value, prev_advantage = 0, 0, 0
        for i in reversed(range(rewards.size(0))):
            returns[i] = rewards[i] + gamma * prev_return * masks[i]
            deltas[i] = rewards[i] + gamma * prev_value * masks[i] - values.data[i]
            advantages[i] = deltas[i] + gamma * tau * prev_advantage * masks[i]
            prev_return = returns[i, 0]
            prev_value = values.data[i, 0]
            prev_advantage = advantages[i, 0]
        targets = Variable(returns)

        value_optimizer = torch.optim.LBFGS(value_net.parameters(), lr=0.5, max_iter=5)

        def closure():
            value_optimizer.zero_grad()
            value_loss = (value_net(Variable(states)) - targets).pow(2).mean()
            for param in value_net.parameters():
                value_loss += param.pow(2).sum() * 1e-3
            value_loss.backward()
            return value_loss

        value_loss = value_optimizer.step(closure)
        advantages = (advantages - advantages.mean()) / advantages.std()
        action_means, action_log_stds, action_stds = policy_net(Variable(states))
        fixed_log_prob = normal_log_density(Variable(actions), action_means, action_log_stds, action_stds).data.clone()

        def get_loss(volatile=False):
            if volatile:
                with torch.no_grad():
                    action_means, action_log_stds, action_stds = policy_net(Variable(states))
            else:
                action_means, action_log_stds, action_stds = policy_net(Variable(states))
            log_prob = normal_log_density(Variable(actions), action_means, action_log_stds, action_stds)
            action_loss = -Variable(advantages) * torch.exp(log_prob - Variable(fixed_log_prob))
            return action_loss.mean()

        def get_kl():
            mean1, log_std1, std1 = policy_net(Variable(states))
            old = Independent(Normal(mean1.detach(), std1.detach()), 1)
            return kl_divergence(old, Independent(Normal(mean1, std1), 1))

        loss, success, stepdir = trpo_step(policy_net, get_loss, get_kl, max_kl, damping)
        out.append([value_loss, loss, success, stepdir, returns, advantages])
    return out
'''

# CleanRL c51.py: a categorical return distribution over fixed atoms, the projection of
# the target distribution onto them by floor/ceil and index_add_, argmax of expected values
PROGRAMS["c51"] = '''
import random
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from collections import namedtuple

torch.set_default_dtype(torch.float64)
ReplayBufferSamples = namedtuple("ReplayBufferSamples", "observations actions next_observations dones rewards")
''' + ENVS + '''

class QNetwork(nn.Module):
    def __init__(self, env, n_atoms=11, v_min=-2, v_max=6):
        super().__init__()
        self.env = env
        self.n_atoms = n_atoms
        self.register_buffer("atoms", torch.linspace(v_min, v_max, steps=n_atoms))
        self.n = env.n_actions
        self.network = nn.Sequential(
            nn.Linear(np.array(env.single_observation_space_shape).prod(), 8), nn.ReLU(),
            nn.Linear(8, self.n * n_atoms),
        )

    def get_action(self, x, action=None):
        logits = self.network(x)
        pmfs = torch.softmax(logits.view(len(x), self.n, self.n_atoms), dim=2)
        q_values = (pmfs * self.atoms).sum(2)
        if action is None:
            action = torch.argmax(q_values, 1)
        return action, pmfs[torch.arange(len(x)), action]


def build():
    envs = CartPole(2, 0)
    nets = nn.ModuleDict(dict(q_network=QNetwork(envs), target_network=QNetwork(envs)))
    nets["target_network"].load_state_dict(nets["q_network"].state_dict())
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    q_network, target_network = nets["q_network"], nets["target_network"]
    n_atoms, v_min, v_max, gamma = 11, -2, 6, 0.9
    random.seed(seed)
    envs = CartPole(2, seed)
    optimizer = optim.Adam(q_network.parameters(), lr=1e-2, eps=0.01 / 32)
    rb = ReplayBuffer(32, 4, 1, seed, act_dtype=np.int64)
    obs = envs.reset()
    out = []
    for global_step in range(10):
        epsilon = max(1.0 - global_step / 6, 0.1)
        if random.random() < epsilon:
            actions = np.array([random.randrange(envs.n_actions) for _ in range(envs.num_envs)])
        else:
            actions, pmf = q_network.get_action(torch.Tensor(obs))
            actions = actions.cpu().numpy()
        next_obs, rewards, terminations = envs.step(actions)
        rb.add(obs, next_obs, actions, rewards, terminations)
        obs = next_obs
        if global_step > 3:
            data = rb.sample(4)
            with torch.no_grad():
                _, next_pmfs = target_network.get_action(data.next_observations)
                next_atoms = data.rewards + gamma * target_network.atoms * (1 - data.dones)
                delta_z = target_network.atoms[1] - target_network.atoms[0]
                tz = next_atoms.clamp(v_min, v_max)
                b = (tz - v_min) / delta_z
                l = b.floor().clamp(0, n_atoms - 1)
                u = b.ceil().clamp(0, n_atoms - 1)
                d_m_l = (u + (l == u).float() - b) * next_pmfs
                d_m_u = (b - l) * next_pmfs
                target_pmfs = torch.zeros_like(next_pmfs)
                for i in range(target_pmfs.size(0)):
                    target_pmfs[i].index_add_(0, l[i].long(), d_m_l[i])
                    target_pmfs[i].index_add_(0, u[i].long(), d_m_u[i])
            _, old_pmfs = q_network.get_action(data.observations, data.actions.flatten())
            loss = (-(target_pmfs * old_pmfs.clamp(min=1e-5, max=1 - 1e-5).log()).sum(-1)).mean()
            old_val = (old_pmfs * q_network.atoms).sum(1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            out.append([loss, old_val, target_pmfs])
            if global_step % 3 == 0:
                target_network.load_state_dict(q_network.state_dict())
    return out
'''

# Rainbow's NoisyLinear (Kaixhin/Rainbow) with a dueling head and QR-DQN's quantile Huber
# loss: factorised Gaussian noise by randn, sign().mul_(abs().sqrt_()), ger, buffers
# written with copy_, reset_noise() between updates
PROGRAMS["noisy_qr_dqn"] = '''
import math
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

class NoisyLinear(nn.Module):
    def __init__(self, in_features, out_features, std_init=0.5):
        super(NoisyLinear, self).__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.std_init = std_init
        self.weight_mu = nn.Parameter(torch.empty(out_features, in_features))
        self.weight_sigma = nn.Parameter(torch.empty(out_features, in_features))
        self.register_buffer('weight_epsilon', torch.empty(out_features, in_features))
        self.bias_mu = nn.Parameter(torch.empty(out_features))
        self.bias_sigma = nn.Parameter(torch.empty(out_features))
        self.register_buffer('bias_epsilon', torch.empty(out_features))
        self.reset_parameters()
        self.reset_noise()

    def reset_parameters(self):
        mu_range = 1 / math.sqrt(self.in_features)
        self.weight_mu.data.uniform_(-mu_range, mu_range)
        self.weight_sigma.data.fill_(self.std_init / math.sqrt(self.in_features))
        self.bias_mu.data.uniform_(-mu_range, mu_range)
        self.bias_sigma.data.fill_(self.std_init / math.sqrt(self.out_features))

    def _scale_noise(self, size):
        x = torch.randn(size, device=self.weight_mu.device)
        return x.sign().mul_(x.abs().sqrt_())

    def reset_noise(self):
        epsilon_in = self._scale_noise(self.in_features)
        epsilon_out = self._scale_noise(self.out_features)
        self.weight_epsilon.copy_(epsilon_out.ger(epsilon_in))
        self.bias_epsilon.copy_(epsilon_out)

    def forward(self, input):
        if self.training:
            return F.linear(input, self.weight_mu + self.weight_sigma * self.weight_epsilon,
                            self.bias_mu + self.bias_sigma * self.bias_epsilon)
        else:
            return F.linear(input, self.weight_mu, self.bias_mu)


class DuelingQuantileNet(nn.Module):
    def __init__(self, n_actions=2, n_quantiles=5):
        super().__init__()
        self.n_actions, self.n_quantiles = n_actions, n_quantiles
        self.fc = nn.Linear(4, 8)
        self.fc_v = NoisyLinear(8, n_quantiles)
        self.fc_a = NoisyLinear(8, n_actions * n_quantiles)

    def forward(self, x):
        x = F.relu(self.fc(x))
        v = self.fc_v(x).view(-1, 1, self.n_quantiles)
        a = self.fc_a(x).view(-1, self.n_actions, self.n_quantiles)
        return v + a - a.mean(1, keepdim=True)

    def reset_noise(self):
        for name, module in self.named_children():
            if 'fc_' in name:
                module.reset_noise()


def quantile_huber_loss(current, target, taus, kappa=1.0):
    td = target.unsqueeze(1) - current.unsqueeze(2)
    huber = torch.where(td.abs() <= kappa, 0.5 * td.pow(2), kappa * (td.abs() - 0.5 * kappa))
    weight = torch.abs(taus.view(1, -1, 1) - (td.detach() < 0).float())
    return (weight * huber / kappa).sum(1).mean(1).mean()


def build():
    nets = nn.ModuleDict(dict(online=DuelingQuantileNet(), target=DuelingQuantileNet()))
    nets["target"].load_state_dict(nets["online"].state_dict())
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    online, target = nets["online"], nets["target"]
    env = CartPole(3, seed)
    optimizer = optim.Adam(online.parameters(), lr=5e-3, eps=1.5e-4)
    taus = (torch.arange(online.n_quantiles, dtype=torch.float64) + 0.5) / online.n_quantiles
    state = torch.as_tensor(env.reset())
    out = []
    for step in range(4):
        with torch.no_grad():
            action = online(state).mean(2).argmax(1)
        next_state, reward, done = env.step(action.numpy())
        next_state, reward = torch.as_tensor(next_state), torch.as_tensor(reward)
        nonterminal = torch.from_numpy(~done).to(torch.float64)
        with torch.no_grad():
            online.reset_noise()
            best = online(next_state).mean(2).argmax(1)
            target.reset_noise()
            next_quantiles = target(next_state)[range(len(best)), best]
            target_quantiles = reward.unsqueeze(1) + 0.9 * nonterminal.unsqueeze(1) * next_quantiles
        current = online(state).gather(1, action.view(-1, 1, 1).expand(-1, 1, online.n_quantiles)).squeeze(1)
        loss = quantile_huber_loss(current, target_quantiles, taus)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(online.parameters(), 10, norm_type=2)
        optimizer.step()
        out.append([loss, current])
        state = next_state
    online.eval()
    with torch.no_grad():
        out.append(online(state))
    return out
'''

# CleanRL ppo_atari_lstm.py (trimmed, vector observations): an LSTM whose state is reset
# where an episode ended, ((1.0 - d).view(1, -1, 1) * state), stepped in a Python loop
# over time, a LambdaLR schedule in place of the hand-written annealing
PROGRAMS["ppo_lstm"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.distributions.categorical import Categorical

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, envs):
        super().__init__()
        self.network = nn.Sequential(layer_init(nn.Linear(4, 8)), nn.ReLU())
        self.lstm = nn.LSTM(8, 6)
        for name, param in self.lstm.named_parameters():
            if "bias" in name:
                nn.init.constant_(param, 0)
            elif "weight" in name:
                nn.init.orthogonal_(param, 1.0)
        self.actor = layer_init(nn.Linear(6, envs.n_actions), std=0.01)
        self.critic = layer_init(nn.Linear(6, 1), std=1)

    def get_states(self, x, lstm_state, done):
        hidden = self.network(x)
        batch_size = lstm_state[0].shape[1]
        hidden = hidden.reshape((-1, batch_size, self.lstm.input_size))
        done = done.reshape((-1, batch_size))
        new_hidden = []
        for h, d in zip(hidden, done):
            h, lstm_state = self.lstm(
                h.unsqueeze(0),
                (
                    (1.0 - d).view(1, -1, 1) * lstm_state[0],
                    (1.0 - d).view(1, -1, 1) * lstm_state[1],
                ),
            )
            new_hidden += [h]
        new_hidden = torch.flatten(torch.cat(new_hidden), 0, 1)
        return new_hidden, lstm_state

    def get_value(self, x, lstm_state, done):
        hidden, _ = self.get_states(x, lstm_state, done)
        return self.critic(hidden)

    def get_action_and_value(self, x, lstm_state, done, action=None):
        hidden, lstm_state = self.get_states(x, lstm_state, done)
        logits = self.actor(hidden)
        probs = Categorical(logits=logits)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(hidden), lstm_state


def build():
    return Agent(CartPole(2, 0))


def data(rng):
    return int(rng.integers(1000))


def train(agent, seed):
    num_envs, num_steps, num_iterations, update_epochs, num_minibatches = 2, 6, 2, 2, 2
    gamma, gae_lambda, clip_coef, ent_coef, vf_coef = 0.99, 0.95, 0.1, 0.01, 0.5
    envs = CartPole(num_envs, seed, max_steps=4)
    optimizer = optim.Adam(agent.parameters(), lr=2.5e-2, eps=1e-5)
    scheduler = optim.lr_scheduler.LambdaLR(optimizer, lambda it: 1.0 - it / num_iterations)
    obs = torch.zeros((num_steps, num_envs, 4))
    actions = torch.zeros((num_steps, num_envs))
    logprobs = torch.zeros((num_steps, num_envs))
    rewards = torch.zeros((num_steps, num_envs))
    dones = torch.zeros((num_steps, num_envs))
    values = torch.zeros((num_steps, num_envs))
    next_obs = torch.Tensor(envs.reset())
    next_done = torch.zeros(num_envs)
    next_lstm_state = (
        torch.zeros(agent.lstm.num_layers, num_envs, agent.lstm.hidden_size),
        torch.zeros(agent.lstm.num_layers, num_envs, agent.lstm.hidden_size),
    )
    envsperbatch = num_envs // num_minibatches
    out = []
    for iteration in range(1, num_iterations + 1):
        initial_lstm_state = (next_lstm_state[0].clone(), next_lstm_state[1].clone())
        for step in range(0, num_steps):
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                action, logprob, _, value, next_lstm_state = agent.get_action_and_value(next_obs, next_lstm_state,
                                                                                        next_done)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            next_obs, reward, next_done = envs.step(action.cpu().numpy())
            rewards[step] = torch.tensor(reward).view(-1)
            next_obs, next_done = torch.Tensor(next_obs), torch.Tensor(next_done)
        with torch.no_grad():
            next_value = agent.get_value(next_obs, next_lstm_state, next_done).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(num_steps)):
                if t == num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
            returns = advantages + values
        b_obs = obs.reshape((-1, 4))
        b_logprobs, b_actions, b_dones = logprobs.reshape(-1), actions.reshape(-1), dones.reshape(-1)
        b_advantages, b_returns = advantages.reshape(-1), returns.reshape(-1)
        envinds = np.arange(num_envs)
        flatinds = np.arange(num_envs * num_steps).reshape(num_steps, num_envs)
        for epoch in range(update_epochs):
            np.random.default_rng(seed + epoch).shuffle(envinds)
            for start in range(0, num_envs, envsperbatch):
                mbenvinds = envinds[start:start + envsperbatch]
                mb_inds = flatinds[:, mbenvinds].ravel()
                _, newlogprob, entropy, newvalue, _ = agent.get_action_and_value(
                    b_obs[mb_inds],
                    (initial_lstm_state[0][:, mbenvinds], initial_lstm_state[1][:, mbenvinds]),
                    b_dones[mb_inds],
                    b_actions.long()[mb_inds],
                )
                ratio = (newlogprob - b_logprobs[mb_inds]).exp()
                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
                pg_loss = torch.max(-mb_advantages * ratio,
                                    -mb_advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)).mean()
                v_loss = 0.5 * ((newvalue.view(-1) - b_returns[mb_inds]) ** 2).mean()
                loss = pg_loss - ent_coef * entropy.mean() + v_loss * vf_coef
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
                optimizer.step()
        scheduler.step()
        out.append([pg_loss, v_loss, scheduler.get_last_lr(), next_lstm_state])
    return out
'''

# CleanRL sac_atari.py (discrete SAC, vector observations), with an action mask as
# masked-PPO code writes it: softmax and log_softmax over the masked logits, expectations
# over actions in place of samples, a target entropy scaled from log(1/|A|)
PROGRAMS["sac_discrete"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from collections import namedtuple
from torch.distributions.categorical import Categorical

torch.set_default_dtype(torch.float64)
ReplayBufferSamples = namedtuple("ReplayBufferSamples", "observations actions next_observations dones rewards")
''' + ENVS + '''

class SoftQNetwork(nn.Module):
    def __init__(self, n_actions=3):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc_q = nn.Linear(8, n_actions)

    def forward(self, x):
        return self.fc_q(F.relu(self.fc1(x)))


class Actor(nn.Module):
    def __init__(self, n_actions=3):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc_logits = nn.Linear(8, n_actions)

    def forward(self, x, mask):
        logits = self.fc_logits(F.relu(self.fc1(x)))
        return torch.where(mask, logits, torch.tensor(-1e8))

    def get_action(self, x, mask):
        logits = self(x, mask)
        policy_dist = Categorical(logits=logits)
        action = policy_dist.sample()
        action_probs = policy_dist.probs
        log_prob = F.log_softmax(logits, dim=1)
        return action, log_prob, action_probs


def action_mask(obs):
    mask = torch.ones(len(obs), 3, dtype=torch.bool)
    mask[:, 2] = torch.as_tensor(obs[:, 0] > 0)
    return mask


def build():
    nets = nn.ModuleDict(dict(actor=Actor(), qf1=SoftQNetwork(), qf2=SoftQNetwork(),
                              qf1_target=SoftQNetwork(), qf2_target=SoftQNetwork()))
    nets["qf1_target"].load_state_dict(nets["qf1"].state_dict())
    nets["qf2_target"].load_state_dict(nets["qf2"].state_dict())
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    actor, qf1, qf2, qf1_target, qf2_target = (nets[k] for k in ("actor", "qf1", "qf2", "qf1_target", "qf2_target"))
    envs = CartPole(2, seed)
    q_optimizer = optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=1e-2, eps=1e-4)
    actor_optimizer = optim.Adam(list(actor.parameters()), lr=1e-2, eps=1e-4)
    target_entropy = -0.89 * torch.log(1 / torch.tensor(3))
    log_alpha = torch.zeros(1, requires_grad=True)
    alpha = log_alpha.exp().item()
    a_optimizer = optim.Adam([log_alpha], lr=1e-2, eps=1e-4)
    rb = ReplayBuffer(32, 4, 1, seed, act_dtype=np.int64)
    obs = envs.reset()
    out = []
    for global_step in range(8):
        actions, _, _ = actor.get_action(torch.Tensor(obs), action_mask(obs))
        actions = actions.detach().cpu().numpy()
        next_obs, rewards, terminations = envs.step(np.minimum(actions, 1))
        rb.add(obs, next_obs, actions, rewards, terminations)
        obs = next_obs
        if global_step >= 3:
            data = rb.sample(5)
            with torch.no_grad():
                _, next_state_log_pi, next_state_action_probs = actor.get_action(
                    data.next_observations, action_mask(data.next_observations))
                qf1_next_target = qf1_target(data.next_observations)
                qf2_next_target = qf2_target(data.next_observations)
                min_qf_next_target = next_state_action_probs * (
                    torch.min(qf1_next_target, qf2_next_target) - alpha * next_state_log_pi
                )
                min_qf_next_target = min_qf_next_target.sum(dim=1)
                next_q_value = data.rewards.flatten() + (1 - data.dones.flatten()) * 0.99 * min_qf_next_target
            qf1_a_values = qf1(data.observations).gather(1, data.actions.long()).view(-1)
            qf2_a_values = qf2(data.observations).gather(1, data.actions.long()).view(-1)
            qf_loss = F.mse_loss(qf1_a_values, next_q_value) + F.mse_loss(qf2_a_values, next_q_value)
            q_optimizer.zero_grad()
            qf_loss.backward()
            q_optimizer.step()
            _, log_pi, action_probs = actor.get_action(data.observations, action_mask(data.observations))
            with torch.no_grad():
                qf1_values = qf1(data.observations)
                qf2_values = qf2(data.observations)
                min_qf_values = torch.min(qf1_values, qf2_values)
            actor_loss = (action_probs * ((alpha * log_pi) - min_qf_values)).mean()
            actor_optimizer.zero_grad()
            actor_loss.backward()
            actor_optimizer.step()
            alpha_loss = (action_probs.detach() * (-log_alpha.exp() * (log_pi + target_entropy).detach())).mean()
            a_optimizer.zero_grad()
            alpha_loss.backward()
            a_optimizer.step()
            alpha = log_alpha.exp().item()
            for param, target_param in zip(qf1.parameters(), qf1_target.parameters()):
                target_param.data.copy_(0.2 * param.data + (1 - 0.2) * target_param.data)
            for param, target_param in zip(qf2.parameters(), qf2_target.parameters()):
                target_param.data.copy_(0.2 * param.data + (1 - 0.2) * target_param.data)
            out.append([qf_loss, actor_loss, alpha_loss, alpha, action_probs])
    return out
'''


# OpenAI Spinning Up's SAC (sac/core.py and sac.py): mlp() from a size list, the tanh
# correction by softplus with sum(axis=...), deepcopy targets frozen by requires_grad =
# False, the Q parameters frozen during the policy step, polyak by mul_/add_ under
# no_grad, a batch dict of as_tensor; then a checkpoint of model and optimizers through
# torch.save/torch.load, resumed
PROGRAMS["spinup_sac"] = '''
import io
import itertools
from copy import deepcopy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions.normal import Normal
from torch.optim import Adam

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

def combined_shape(length, shape=None):
    if shape is None:
        return (length,)
    return (length, shape) if np.isscalar(shape) else (length, *shape)


def mlp(sizes, activation, output_activation=nn.Identity):
    layers = []
    for j in range(len(sizes) - 1):
        act = activation if j < len(sizes) - 2 else output_activation
        layers += [nn.Linear(sizes[j], sizes[j + 1]), act()]
    return nn.Sequential(*layers)


def count_vars(module):
    return sum([np.prod(p.shape) for p in module.parameters()])


LOG_STD_MAX = 2
LOG_STD_MIN = -20


class SquashedGaussianMLPActor(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden_sizes, activation, act_limit):
        super().__init__()
        self.net = mlp([obs_dim] + list(hidden_sizes), activation, activation)
        self.mu_layer = nn.Linear(hidden_sizes[-1], act_dim)
        self.log_std_layer = nn.Linear(hidden_sizes[-1], act_dim)
        self.act_limit = act_limit

    def forward(self, obs, deterministic=False, with_logprob=True):
        net_out = self.net(obs)
        mu = self.mu_layer(net_out)
        log_std = self.log_std_layer(net_out)
        log_std = torch.clamp(log_std, LOG_STD_MIN, LOG_STD_MAX)
        std = torch.exp(log_std)
        pi_distribution = Normal(mu, std)
        if deterministic:
            pi_action = mu
        else:
            pi_action = pi_distribution.rsample()
        if with_logprob:
            logp_pi = pi_distribution.log_prob(pi_action).sum(axis=-1)
            logp_pi -= (2 * (np.log(2) - pi_action - F.softplus(-2 * pi_action))).sum(axis=1)
        else:
            logp_pi = None
        pi_action = torch.tanh(pi_action)
        pi_action = self.act_limit * pi_action
        return pi_action, logp_pi


class MLPQFunction(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden_sizes, activation):
        super().__init__()
        self.q = mlp([obs_dim + act_dim] + list(hidden_sizes) + [1], activation)

    def forward(self, obs, act):
        q = self.q(torch.cat([obs, act], dim=-1))
        return torch.squeeze(q, -1)


class MLPActorCritic(nn.Module):
    def __init__(self, obs_dim=3, act_dim=1, act_limit=1.0, hidden_sizes=(8, 8), activation=nn.ReLU):
        super().__init__()
        self.pi = SquashedGaussianMLPActor(obs_dim, act_dim, hidden_sizes, activation, act_limit)
        self.q1 = MLPQFunction(obs_dim, act_dim, hidden_sizes, activation)
        self.q2 = MLPQFunction(obs_dim, act_dim, hidden_sizes, activation)

    @torch.no_grad()
    def act(self, obs, deterministic=False):
        a, _ = self.pi(obs, deterministic, False)
        return a.numpy()


class ReplayBufferDict:
    def __init__(self, obs_dim, act_dim, size, seed):
        self.obs_buf = np.zeros(combined_shape(size, obs_dim))
        self.obs2_buf = np.zeros(combined_shape(size, obs_dim))
        self.act_buf = np.zeros(combined_shape(size, act_dim))
        self.rew_buf = np.zeros(size)
        self.done_buf = np.zeros(size)
        self.ptr, self.size, self.max_size = 0, 0, size
        self.rng = np.random.default_rng(seed)

    def store(self, obs, act, rew, next_obs, done):
        self.obs_buf[self.ptr] = obs
        self.obs2_buf[self.ptr] = next_obs
        self.act_buf[self.ptr] = act
        self.rew_buf[self.ptr] = rew
        self.done_buf[self.ptr] = done
        self.ptr = (self.ptr + 1) % self.max_size
        self.size = min(self.size + 1, self.max_size)

    def sample_batch(self, batch_size=32):
        idxs = self.rng.integers(0, self.size, size=batch_size)
        batch = dict(obs=self.obs_buf[idxs], obs2=self.obs2_buf[idxs], act=self.act_buf[idxs],
                     rew=self.rew_buf[idxs], done=self.done_buf[idxs])
        return {k: torch.as_tensor(v, dtype=torch.float64) for k, v in batch.items()}


def build():
    ac = MLPActorCritic()
    return nn.ModuleDict(dict(ac=ac, ac_targ=deepcopy(ac)))


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    ac, ac_targ = nets["ac"], nets["ac_targ"]
    gamma, polyak, lr, alpha, batch_size = 0.99, 0.9, 1e-2, 0.2, 5
    for p in ac_targ.parameters():
        p.requires_grad = False
    q_params = list(itertools.chain(ac.q1.parameters(), ac.q2.parameters()))
    var_counts = tuple(count_vars(module) for module in [ac.pi, ac.q1, ac.q2])
    env = PointMass(1, seed)
    replay_buffer = ReplayBufferDict(3, 1, 50, seed)

    def compute_loss_q(data):
        o, a, r, o2, d = data['obs'], data['act'], data['rew'], data['obs2'], data['done']
        q1 = ac.q1(o, a)
        q2 = ac.q2(o, a)
        with torch.no_grad():
            a2, logp_a2 = ac.pi(o2)
            q1_pi_targ = ac_targ.q1(o2, a2)
            q2_pi_targ = ac_targ.q2(o2, a2)
            q_pi_targ = torch.min(q1_pi_targ, q2_pi_targ)
            backup = r + gamma * (1 - d) * (q_pi_targ - alpha * logp_a2)
        loss_q1 = ((q1 - backup) ** 2).mean()
        loss_q2 = ((q2 - backup) ** 2).mean()
        loss_q = loss_q1 + loss_q2
        q_info = dict(Q1Vals=q1.detach().numpy(), Q2Vals=q2.detach().numpy())
        return loss_q, q_info

    def compute_loss_pi(data):
        o = data['obs']
        pi, logp_pi = ac.pi(o)
        q1_pi = ac.q1(o, pi)
        q2_pi = ac.q2(o, pi)
        q_pi = torch.min(q1_pi, q2_pi)
        loss_pi = (alpha * logp_pi - q_pi).mean()
        pi_info = dict(LogPi=logp_pi.detach().numpy())
        return loss_pi, pi_info

    pi_optimizer = Adam(ac.pi.parameters(), lr=lr)
    q_optimizer = Adam(q_params, lr=lr)

    def update(data):
        q_optimizer.zero_grad()
        loss_q, q_info = compute_loss_q(data)
        loss_q.backward()
        q_optimizer.step()
        for p in q_params:
            p.requires_grad = False
        pi_optimizer.zero_grad()
        loss_pi, pi_info = compute_loss_pi(data)
        loss_pi.backward()
        pi_optimizer.step()
        for p in q_params:
            p.requires_grad = True
        with torch.no_grad():
            for p, p_targ in zip(ac.parameters(), ac_targ.parameters()):
                p_targ.data.mul_(polyak)
                p_targ.data.add_((1 - polyak) * p.data)
        return [loss_q, loss_pi, q_info, pi_info, [p.grad for p in q_params]]

    out = [var_counts]
    o = env.reset()
    for t in range(10):
        a = env.sample_action() if t < 3 else ac.act(torch.as_tensor(o, dtype=torch.float64))
        o2, r, d = env.step(a)
        replay_buffer.store(o[0], a[0], r[0], o2[0], d[0])
        o = o2
        if t >= 4 and t % 2 == 0:
            for j in range(2):
                out.append(update(replay_buffer.sample_batch(batch_size)))
        if t == 6:
            buffer = io.BytesIO()
            torch.save({"ac": ac.state_dict(), "pi_optimizer": pi_optimizer.state_dict(),
                        "q_optimizer": q_optimizer.state_dict()}, buffer)
            buffer.seek(0)
            checkpoint = torch.load(buffer)
            ac = MLPActorCritic()
            ac.load_state_dict(checkpoint["ac"])
            q_params = list(itertools.chain(ac.q1.parameters(), ac.q2.parameters()))
            pi_optimizer = Adam(ac.pi.parameters(), lr=lr)
            q_optimizer = Adam(q_params, lr=lr)
            pi_optimizer.load_state_dict(checkpoint["pi_optimizer"])
            q_optimizer.load_state_dict(checkpoint["q_optimizer"])
            nets["ac"] = ac
    out.append(ac.act(torch.as_tensor(o), deterministic=True))
    return out
'''

# DDPG as the pytorch-ddpg repositories write it: Ornstein-Uhlenbeck noise in NumPy, the
# actor's final layer initialised by uniform_, targets hard-copied by
# target.load_state_dict and softly by a zip over named_parameters, an optimizer step on
# a loss that holds the critic frozen by requires_grad_(False)
PROGRAMS["ddpg"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

class OUNoise:
    def __init__(self, size, seed, mu=0.0, theta=0.15, sigma=0.2):
        self.mu = mu * np.ones(size)
        self.theta, self.sigma = theta, sigma
        self.rng = np.random.default_rng(seed)
        self.reset()

    def reset(self):
        self.state = self.mu.copy()

    def sample(self):
        dx = self.theta * (self.mu - self.state) + self.sigma * self.rng.standard_normal(len(self.state))
        self.state = self.state + dx
        return self.state


def fanin_init(size, fanin=None):
    fanin = fanin or size[0]
    v = 1. / np.sqrt(fanin)
    return torch.Tensor(size).uniform_(-v, v)


class Actor(nn.Module):
    def __init__(self, nb_states, nb_actions, hidden=8, init_w=3e-3):
        super(Actor, self).__init__()
        self.fc1 = nn.Linear(nb_states, hidden)
        self.fc2 = nn.Linear(hidden, nb_actions)
        self.fc1.weight.data = fanin_init(self.fc1.weight.data.size())
        self.fc2.weight.data.uniform_(-init_w, init_w)

    def forward(self, x):
        return torch.tanh(self.fc2(F.relu(self.fc1(x))))


class Critic(nn.Module):
    def __init__(self, nb_states, nb_actions, hidden=8):
        super(Critic, self).__init__()
        self.fc1 = nn.Linear(nb_states, hidden)
        self.fc2 = nn.Linear(hidden + nb_actions, 1)

    def forward(self, xs):
        x, a = xs
        out = F.relu(self.fc1(x))
        return self.fc2(torch.cat([out, a], 1))


def hard_update(target, source):
    target.load_state_dict(source.state_dict())


def soft_update(target, source, tau):
    for (name, target_param), (_, param) in zip(target.named_parameters(), source.named_parameters()):
        target_param.data.copy_(target_param.data * (1.0 - tau) + param.data * tau)


def build():
    nets = nn.ModuleDict(dict(actor=Actor(3, 1), actor_target=Actor(3, 1), critic=Critic(3, 1),
                              critic_target=Critic(3, 1)))
    hard_update(nets["actor_target"], nets["actor"])
    hard_update(nets["critic_target"], nets["critic"])
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    actor, actor_target, critic, critic_target = (nets[k] for k in ("actor", "actor_target", "critic",
                                                                    "critic_target"))
    actor_optim = optim.Adam(actor.parameters(), lr=1e-2)
    critic_optim = optim.Adam(critic.parameters(), lr=1e-2, weight_decay=1e-2)
    criterion = nn.MSELoss()
    noise = OUNoise(1, seed)
    env = PointMass(1, seed)
    memory = []
    rng = np.random.default_rng(seed)
    s = env.reset()
    out = []
    for t in range(9):
        a = actor(torch.from_numpy(s)).detach().numpy() + noise.sample()
        s2, r, d = env.step(np.clip(a, -1.0, 1.0))
        memory.append((s[0], a[0], r[0], s2[0], float(d[0])))
        s = s2
        if t >= 3:
            batch = [memory[i] for i in rng.integers(0, len(memory), size=4)]
            state, action, reward, next_state, done = (torch.tensor(np.array(x)) for x in zip(*batch))
            with torch.no_grad():
                next_q_values = critic_target([next_state, actor_target(next_state)])
            target_q_batch = reward.unsqueeze(1) + 0.99 * (1.0 - done.unsqueeze(1)) * next_q_values
            critic.zero_grad()
            q_batch = critic([state, action])
            value_loss = criterion(q_batch, target_q_batch)
            value_loss.backward()
            critic_optim.step()
            critic.requires_grad_(False)
            actor.zero_grad()
            policy_loss = -critic([state, actor(state)])
            policy_loss = policy_loss.mean()
            policy_loss.backward()
            actor_optim.step()
            critic.requires_grad_(True)
            soft_update(actor_target, actor, 0.1)
            soft_update(critic_target, critic, 0.1)
            out.append([value_loss, policy_loss, q_batch])
    return out
'''


# nikhilbarhate99/PPO-PyTorch: a MultivariateNormal policy with a diagonal covariance from
# torch.diag / torch.diag_embed of a decaying action variance, a rollout buffer of lists
# stacked and squeezed, Monte Carlo returns by insert(0, ...), policy_old by load_state_dict
PROGRAMS["ppo_mvn"] = '''
import numpy as np
import torch
import torch.nn as nn
from torch.distributions import MultivariateNormal

torch.set_default_dtype(torch.float64)
''' + ENVS + '''

class RolloutBuffer:
    def __init__(self):
        self.actions = []
        self.states = []
        self.logprobs = []
        self.rewards = []
        self.state_values = []
        self.is_terminals = []

    def clear(self):
        del self.actions[:]
        del self.states[:]
        del self.logprobs[:]
        del self.rewards[:]
        del self.state_values[:]
        del self.is_terminals[:]


class ActorCritic(nn.Module):
    def __init__(self, state_dim, action_dim, action_std_init):
        super(ActorCritic, self).__init__()
        self.action_dim = action_dim
        self.action_var = torch.full((action_dim,), action_std_init * action_std_init)
        self.actor = nn.Sequential(nn.Linear(state_dim, 8), nn.Tanh(), nn.Linear(8, action_dim), nn.Tanh())
        self.critic = nn.Sequential(nn.Linear(state_dim, 8), nn.Tanh(), nn.Linear(8, 1))

    def set_action_std(self, new_action_std):
        self.action_var = torch.full((self.action_dim,), new_action_std * new_action_std)

    def act(self, state):
        action_mean = self.actor(state)
        cov_mat = torch.diag(self.action_var).unsqueeze(dim=0)
        dist = MultivariateNormal(action_mean, cov_mat)
        action = dist.sample()
        action_logprob = dist.log_prob(action)
        state_val = self.critic(state)
        return action.detach(), action_logprob.detach(), state_val.detach()

    def evaluate(self, state, action):
        action_mean = self.actor(state)
        action_var = self.action_var.expand_as(action_mean)
        cov_mat = torch.diag_embed(action_var)
        dist = MultivariateNormal(action_mean, cov_mat)
        if self.action_dim == 1:
            action = action.reshape(-1, self.action_dim)
        action_logprobs = dist.log_prob(action)
        dist_entropy = dist.entropy()
        state_values = self.critic(state)
        return action_logprobs, state_values, dist_entropy


class PPO:
    def __init__(self, policy, policy_old, lr_actor, lr_critic, gamma, K_epochs, eps_clip, action_std_init=0.6):
        self.action_std = action_std_init
        self.gamma, self.eps_clip, self.K_epochs = gamma, eps_clip, K_epochs
        self.buffer = RolloutBuffer()
        self.policy = policy
        self.optimizer = torch.optim.Adam([
            {'params': self.policy.actor.parameters(), 'lr': lr_actor},
            {'params': self.policy.critic.parameters(), 'lr': lr_critic}
        ])
        self.policy_old = policy_old
        self.policy_old.load_state_dict(self.policy.state_dict())
        self.MseLoss = nn.MSELoss()

    def set_action_std(self, new_action_std):
        self.action_std = new_action_std
        self.policy.set_action_std(new_action_std)
        self.policy_old.set_action_std(new_action_std)

    def decay_action_std(self, action_std_decay_rate, min_action_std):
        self.action_std = self.action_std - action_std_decay_rate
        self.action_std = round(self.action_std, 4)
        if self.action_std <= min_action_std:
            self.action_std = min_action_std
        self.set_action_std(self.action_std)

    def select_action(self, state):
        with torch.no_grad():
            state = torch.DoubleTensor(state)
            action, action_logprob, state_val = self.policy_old.act(state)
        self.buffer.states.append(state)
        self.buffer.actions.append(action)
        self.buffer.logprobs.append(action_logprob)
        self.buffer.state_values.append(state_val)
        return action.detach().cpu().numpy().flatten()

    def update(self):
        rewards = []
        discounted_reward = 0
        for reward, is_terminal in zip(reversed(self.buffer.rewards), reversed(self.buffer.is_terminals)):
            if is_terminal:
                discounted_reward = 0
            discounted_reward = reward + (self.gamma * discounted_reward)
            rewards.insert(0, discounted_reward)
        rewards = torch.tensor(rewards, dtype=torch.float64)
        rewards = (rewards - rewards.mean()) / (rewards.std() + 1e-7)
        old_states = torch.squeeze(torch.stack(self.buffer.states, dim=0)).detach()
        old_actions = torch.squeeze(torch.stack(self.buffer.actions, dim=0)).detach()
        old_logprobs = torch.squeeze(torch.stack(self.buffer.logprobs, dim=0)).detach()
        old_state_values = torch.squeeze(torch.stack(self.buffer.state_values, dim=0)).detach()
        advantages = rewards.detach() - old_state_values.detach()
        out = []
        for _ in range(self.K_epochs):
            logprobs, state_values, dist_entropy = self.policy.evaluate(old_states, old_actions)
            state_values = torch.squeeze(state_values)
            ratios = torch.exp(logprobs - old_logprobs.detach())
            surr1 = ratios * advantages
            surr2 = torch.clamp(ratios, 1 - self.eps_clip, 1 + self.eps_clip) * advantages
            loss = -torch.min(surr1, surr2) + 0.5 * self.MseLoss(state_values, rewards) - 0.01 * dist_entropy
            self.optimizer.zero_grad()
            loss.mean().backward()
            self.optimizer.step()
            out.append(loss)
        self.policy_old.load_state_dict(self.policy.state_dict())
        self.buffer.clear()
        return out


def build():
    return nn.ModuleDict(dict(policy=ActorCritic(3, 1, 0.6), policy_old=ActorCritic(3, 1, 0.6)))


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    ppo_agent = PPO(nets["policy"], nets["policy_old"], 3e-3, 1e-2, 0.99, 3, 0.2)
    env = PointMass(1, seed, max_steps=4)
    out = []
    state = env.reset()[0]
    for t in range(1, 13):
        action = ppo_agent.select_action(state)
        state, reward, done = env.step(action)
        state = state[0]
        ppo_agent.buffer.rewards.append(float(reward[0]))
        ppo_agent.buffer.is_terminals.append(bool(done[0]))
        if t % 6 == 0:
            out.append(ppo_agent.update())
            ppo_agent.decay_action_std(0.05, 0.1)
    return out
'''


# denisyarats/pytorch_sac (and DrQ's): a SquashedNormal subclassing
# pyd.transformed_distribution.TransformedDistribution with its own TanhTransform (a
# Transform subclass with cache_size=1 and a log1p atanh), a DoubleQCritic, the entropy
# temperature by a log_alpha tensor, soft_update_params on .data
PROGRAMS["pytorch_sac"] = '''
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import distributions as pyd
from collections import namedtuple

torch.set_default_dtype(torch.float64)
ReplayBufferSamples = namedtuple("ReplayBufferSamples", "observations actions next_observations dones rewards")
''' + ENVS + '''

class TanhTransform(pyd.transforms.Transform):
    domain = pyd.constraints.real
    codomain = pyd.constraints.interval(-1.0, 1.0)
    bijective = True
    sign = +1

    def __init__(self, cache_size=1):
        super().__init__(cache_size=cache_size)

    @staticmethod
    def atanh(x):
        return 0.5 * (x.log1p() - (-x).log1p())

    def __eq__(self, other):
        return isinstance(other, TanhTransform)

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return self.atanh(y)

    def log_abs_det_jacobian(self, x, y):
        return 2. * (math.log(2.) - x - F.softplus(-2. * x))


class SquashedNormal(pyd.transformed_distribution.TransformedDistribution):
    def __init__(self, loc, scale):
        self.loc = loc
        self.scale = scale
        self.base_dist = pyd.Normal(loc, scale)
        transforms = [TanhTransform()]
        super().__init__(self.base_dist, transforms)

    @property
    def mean(self):
        mu = self.loc
        for tr in self.transforms:
            mu = tr(mu)
        return mu


def mlp(input_dim, hidden_dim, output_dim, hidden_depth):
    mods = [nn.Linear(input_dim, hidden_dim), nn.ReLU(inplace=True)]
    for i in range(hidden_depth - 1):
        mods += [nn.Linear(hidden_dim, hidden_dim), nn.ReLU(inplace=True)]
    mods.append(nn.Linear(hidden_dim, output_dim))
    return nn.Sequential(*mods)


def weight_init(m):
    if isinstance(m, nn.Linear):
        nn.init.orthogonal_(m.weight.data)
        if hasattr(m.bias, 'data'):
            m.bias.data.fill_(0.0)


def soft_update_params(net, target_net, tau):
    for param, target_param in zip(net.parameters(), target_net.parameters()):
        target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)


class DiagGaussianActor(nn.Module):
    def __init__(self, obs_dim, action_dim, hidden_dim, hidden_depth, log_std_bounds):
        super().__init__()
        self.log_std_bounds = log_std_bounds
        self.trunk = mlp(obs_dim, hidden_dim, 2 * action_dim, hidden_depth)
        self.outputs = dict()
        self.apply(weight_init)

    def forward(self, obs):
        mu, log_std = self.trunk(obs).chunk(2, dim=-1)
        log_std = torch.tanh(log_std)
        log_std_min, log_std_max = self.log_std_bounds
        log_std = log_std_min + 0.5 * (log_std_max - log_std_min) * (log_std + 1)
        std = log_std.exp()
        self.outputs['mu'] = mu
        self.outputs['std'] = std
        dist = SquashedNormal(mu, std)
        return dist


class DoubleQCritic(nn.Module):
    def __init__(self, obs_dim, action_dim, hidden_dim, hidden_depth):
        super().__init__()
        self.Q1 = mlp(obs_dim + action_dim, hidden_dim, 1, hidden_depth)
        self.Q2 = mlp(obs_dim + action_dim, hidden_dim, 1, hidden_depth)
        self.apply(weight_init)

    def forward(self, obs, action):
        assert obs.size(0) == action.size(0)
        obs_action = torch.cat([obs, action], dim=-1)
        return self.Q1(obs_action), self.Q2(obs_action)


def build():
    nets = nn.ModuleDict(dict(actor=DiagGaussianActor(3, 1, 8, 2, [-5, 2]), critic=DoubleQCritic(3, 1, 8, 2),
                              critic_target=DoubleQCritic(3, 1, 8, 2)))
    nets["critic_target"].load_state_dict(nets["critic"].state_dict())
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    actor, critic, critic_target = nets["actor"], nets["critic"], nets["critic_target"]
    log_alpha = torch.tensor(np.log(0.1))
    log_alpha.requires_grad = True
    target_entropy = -1
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=1e-2, betas=[0.9, 0.999])
    critic_optimizer = torch.optim.Adam(critic.parameters(), lr=1e-2, betas=[0.9, 0.999])
    log_alpha_optimizer = torch.optim.Adam([log_alpha], lr=1e-2, betas=[0.9, 0.999])
    env = PointMass(2, seed)
    rb = ReplayBuffer(32, 3, 1, seed)
    obs = env.reset()
    out = []
    for step in range(8):
        with torch.no_grad():
            dist = actor(torch.as_tensor(obs))
            action = dist.sample() if step >= 2 else torch.as_tensor(env.sample_action())
        next_obs, reward, done = env.step(action.numpy())
        rb.add(obs, next_obs, action.numpy(), reward, done)
        obs = next_obs
        if step >= 2:
            o, a, o2, d, r = rb.sample(5)
            alpha = log_alpha.exp()
            dist = actor(o2)
            next_action = dist.rsample()
            log_prob = dist.log_prob(next_action).sum(-1, keepdim=True)
            target_Q1, target_Q2 = critic_target(o2, next_action)
            target_V = torch.min(target_Q1, target_Q2) - alpha.detach() * log_prob
            target_Q = r + ((1 - d) * 0.99 * target_V)
            target_Q = target_Q.detach()
            current_Q1, current_Q2 = critic(o, a)
            critic_loss = F.mse_loss(current_Q1, target_Q) + F.mse_loss(current_Q2, target_Q)
            critic_optimizer.zero_grad()
            critic_loss.backward()
            critic_optimizer.step()
            if step % 2 == 0:
                dist = actor(o)
                action = dist.rsample()
                log_prob = dist.log_prob(action).sum(-1, keepdim=True)
                actor_Q1, actor_Q2 = critic(o, action)
                actor_Q = torch.min(actor_Q1, actor_Q2)
                actor_loss = (alpha.detach() * log_prob - actor_Q).mean()
                actor_optimizer.zero_grad()
                actor_loss.backward()
                actor_optimizer.step()
                log_alpha_optimizer.zero_grad()
                alpha_loss = (alpha * (-log_prob - target_entropy).detach()).mean()
                alpha_loss.backward()
                log_alpha_optimizer.step()
                out.append([actor_loss, alpha_loss, -log_prob.mean(), actor.outputs['std']])
            soft_update_params(critic, critic_target, 0.1)
            out.append([critic_loss, current_Q1])
    out.append([log_alpha, actor(torch.as_tensor(obs)).mean])
    return out
'''

# facebookresearch/drqv2 (vector observations): a TruncatedNormal subclassing pyd.Normal,
# whose sample draws by torch.distributions.utils._standard_normal, clips the noise and
# clamps with a straight-through estimator; a linear stddev schedule; the critic's
# targets by soft_update_params
PROGRAMS["drqv2"] = '''
import re

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import distributions as pyd
from torch.distributions.utils import _standard_normal
from collections import namedtuple

torch.set_default_dtype(torch.float64)
ReplayBufferSamples = namedtuple("ReplayBufferSamples", "observations actions next_observations dones rewards")
''' + ENVS + '''

class TruncatedNormal(pyd.Normal):
    def __init__(self, loc, scale, low=-1.0, high=1.0, eps=1e-6):
        super().__init__(loc, scale, validate_args=False)
        self.low = low
        self.high = high
        self.eps = eps

    def _clamp(self, x):
        clamped_x = torch.clamp(x, self.low + self.eps, self.high - self.eps)
        x = x - x.detach() + clamped_x.detach()
        return x

    def sample(self, clip=None, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        eps = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        eps *= self.scale
        if clip is not None:
            eps = torch.clamp(eps, -clip, clip)
        x = self.loc + eps
        return self._clamp(x)


def schedule(schdl, step):
    try:
        return float(schdl)
    except ValueError:
        match = re.match(r'linear\\((.+),(.+),(.+)\\)', schdl)
        if match:
            init, final, duration = [float(g) for g in match.groups()]
            mix = np.clip(step / duration, 0.0, 1.0)
            return (1.0 - mix) * init + mix * final
    raise NotImplementedError(schdl)


def soft_update_params(net, target_net, tau):
    for param, target_param in zip(net.parameters(), target_net.parameters()):
        target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)


class Actor(nn.Module):
    def __init__(self, repr_dim, action_shape, feature_dim, hidden_dim):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(repr_dim, feature_dim), nn.LayerNorm(feature_dim), nn.Tanh())
        self.policy = nn.Sequential(nn.Linear(feature_dim, hidden_dim), nn.ReLU(inplace=True),
                                    nn.Linear(hidden_dim, action_shape[0]))

    def forward(self, obs, std):
        h = self.trunk(obs)
        mu = self.policy(h)
        mu = torch.tanh(mu)
        std = torch.ones_like(mu) * std
        dist = TruncatedNormal(mu, std)
        return dist


class Critic(nn.Module):
    def __init__(self, repr_dim, action_shape, feature_dim, hidden_dim):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(repr_dim, feature_dim), nn.LayerNorm(feature_dim), nn.Tanh())
        self.Q1 = nn.Sequential(nn.Linear(feature_dim + action_shape[0], hidden_dim), nn.ReLU(inplace=True),
                                nn.Linear(hidden_dim, 1))
        self.Q2 = nn.Sequential(nn.Linear(feature_dim + action_shape[0], hidden_dim), nn.ReLU(inplace=True),
                                nn.Linear(hidden_dim, 1))

    def forward(self, obs, action):
        h = self.trunk(obs)
        h_action = torch.cat([h, action], dim=-1)
        return self.Q1(h_action), self.Q2(h_action)


def build():
    nets = nn.ModuleDict(dict(actor=Actor(3, (1,), 6, 8), critic=Critic(3, (1,), 6, 8),
                              critic_target=Critic(3, (1,), 6, 8)))
    nets["critic_target"].load_state_dict(nets["critic"].state_dict())
    return nets


def data(rng):
    return int(rng.integers(1000))


def train(nets, seed):
    actor, critic, critic_target = nets["actor"], nets["critic"], nets["critic_target"]
    actor_opt = torch.optim.Adam(actor.parameters(), lr=1e-2)
    critic_opt = torch.optim.Adam(critic.parameters(), lr=1e-2)
    stddev_schedule, stddev_clip = 'linear(1.0,0.1,6)', 0.3
    env = PointMass(2, seed)
    rb = ReplayBuffer(32, 3, 1, seed)
    obs = env.reset()
    out = []
    for step in range(8):
        with torch.no_grad():
            stddev = schedule(stddev_schedule, step)
            dist = actor(torch.as_tensor(obs), stddev)
            action = dist.sample(clip=None)
            if step < 2:
                action.copy_(torch.as_tensor(env.sample_action()))
        next_obs, reward, done = env.step(action.numpy())
        rb.add(obs, next_obs, action.numpy(), reward, done)
        obs = next_obs
        if step >= 2:
            o, a, o2, d, r = rb.sample(5)
            with torch.no_grad():
                stddev = schedule(stddev_schedule, step)
                dist = actor(o2, stddev)
                next_action = dist.sample(clip=stddev_clip)
                target_Q1, target_Q2 = critic_target(o2, next_action)
                target_V = torch.min(target_Q1, target_Q2)
                target_Q = r + ((1 - d) * 0.99 * target_V)
            Q1, Q2 = critic(o, a)
            critic_loss = F.mse_loss(Q1, target_Q) + F.mse_loss(Q2, target_Q)
            critic_opt.zero_grad(set_to_none=True)
            critic_loss.backward()
            critic_opt.step()
            dist = actor(o, stddev)
            action = dist.sample(clip=stddev_clip)
            log_prob = dist.log_prob(action).sum(-1, keepdim=True)
            Q1, Q2 = critic(o, action)
            Q = torch.min(Q1, Q2)
            actor_loss = -Q.mean()
            actor_opt.zero_grad(set_to_none=True)
            actor_loss.backward()
            actor_opt.step()
            soft_update_params(critic, critic_target, 0.05)
            out.append([critic_loss, actor_loss, log_prob, dist.entropy().sum(-1).mean()])
    return out
'''


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_rl_program_gives_pytorchs_values(name):
    _compare_with_pytorch(PROGRAMS[name], _samplers)
